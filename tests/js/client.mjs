// A third-party Doorstep client, written from docs/protocol.md and docs/documents.md alone, with the JavaScript
// Automerge. It signs in, pulls every document in protocol version 2, checks what the documents hold, edits a
// household's phone number and pushes the change, then pushes a change of the wrong type and expects it refused
// naming the field. It prints one JSON line with what it saw; the Rust test that runs it checks both sides.
//
// Usage: node client.mjs SERVER_URL USER PASSWORD NEW_PHONE
import * as Automerge from "@automerge/automerge";
import { decompress } from "fzstd";

const [server, user, password, newPhone] = process.argv.slice(2);

// --- postcard (docs/protocol.md, "Body encoding") ---
function varint(n) {
  let v = BigInt(n);
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const utf8 = (s) => [...varint(Buffer.byteLength(s)), ...Buffer.from(s)];
const bytes = (b) => [...varint(b.length), ...b];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const id = (text) => (UUID.test(text) ? [0, ...Buffer.from(text.replace(/-/g, ""), "hex")] : [1, ...utf8(text)]);

class Reader {
  constructor(buf) { this.buf = buf; this.at = 0; }
  byte() { return this.buf[this.at++]; }
  varint() {
    let v = 0n, shift = 0n, b;
    do { b = this.byte(); v |= BigInt(b & 0x7f) << shift; shift += 7n; } while (b & 0x80);
    return Number(v);
  }
  take(n) { const out = this.buf.subarray(this.at, this.at + n); this.at += n; return out; }
  bytes() { return this.take(this.varint()); }
  string() { return Buffer.from(this.bytes()).toString("utf8"); }
  vec(f) { const n = this.varint(); return Array.from({ length: n }, () => f()); }
  id() {
    if (this.byte() === 0) {
      const h = Buffer.from(this.take(16)).toString("hex");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    return this.string();
  }
}

// --- zstd: one frame that states its content size, raw (stored) blocks: any conforming decoder reads it ---
function zstdFrame(content) {
  const out = [0x28, 0xb5, 0x2f, 0xfd, 0xa0]; // magic; descriptor: 4-byte content size, single segment
  const size = Buffer.alloc(4);
  size.writeUInt32LE(content.length);
  out.push(...size);
  const MAX = 128 * 1024;
  let at = 0;
  do {
    const block = content.subarray(at, at + MAX);
    at += block.length;
    const last = at >= content.length ? 1 : 0;
    const header = last | (0 << 1) | (block.length << 3);
    out.push(header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, ...block);
  } while (at < content.length);
  return Buffer.from(out);
}

// --- envelope (docs/protocol.md, "Envelope") ---
const envelope = (type, body) =>
  Buffer.concat([Buffer.from("DSTP"), Buffer.from([0, 2, type]), zstdFrame(Buffer.from(body))]);

async function sync(token, cursor, changes) {
  const body = [...varint(cursor), ...varint(4 * 1024 * 1024), ...varint(changes.length)];
  for (const c of changes) body.push(...id(c.docId), ...utf8(c.kind), ...bytes(c.bytes));
  const resp = await fetch(`${server}/api/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/x-doorstep-sync" },
    body: envelope(1, body),
  });
  const raw = new Uint8Array(await resp.arrayBuffer());
  if (resp.status !== 200) return { status: resp.status, error: JSON.parse(Buffer.from(raw).toString("utf8")) };
  if (Buffer.from(raw.subarray(0, 7)).toString("hex") !== "4453545000020" + "2") throw new Error("not a v2 response");
  const r = new Reader(decompress(raw.subarray(7)));
  const accepted = r.varint();
  const docs = r.vec(() => ({
    docId: r.id(),
    kind: r.string(),
    snapshot: r.byte() === 1 ? r.bytes() : null,
    changes: r.vec(() => r.bytes()),
  }));
  const next = r.varint();
  const more = r.byte() === 1;
  const removed = r.vec(() => r.id());
  return { status: 200, format: resp.headers.get("doorstep-document-format"), accepted, docs, cursor: next, more, removed };
}

const login = await fetch(`${server}/api/v1/login`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user, password, device_name: "third-party-js" }),
}).then((r) => r.json());

// Pull every page.
const docs = new Map();
let cursor = 0, format = null;
for (;;) {
  const page = await sync(login.token, cursor, []);
  if (page.status !== 200) throw new Error(JSON.stringify(page));
  format = page.format;
  for (const d of page.docs) {
    let doc = docs.get(d.docId)?.doc ?? (d.snapshot ? Automerge.load(d.snapshot) : Automerge.init());
    if (d.snapshot && docs.has(d.docId)) doc = Automerge.merge(doc, Automerge.load(d.snapshot));
    if (d.changes.length) [doc] = Automerge.applyChanges(doc, d.changes);
    docs.set(d.docId, { kind: d.kind, doc });
  }
  cursor = page.cursor;
  if (!page.more) break;
}

const households = [...docs.entries()].filter(([, d]) => d.kind === "household");
const [hid, { doc: household }] = households[0];
const seen = {
  documents: docs.size,
  households: households.length,
  format_header: format,
  document_format: household.format,
  poverty_status: String(household.poverty_status),
  member_sexes: Object.values(household.members).map((m) => String(m.sex)),
  // Whole numbers are int, so JavaScript reads numbers, never BigInt.
  rules_number_types: [...docs.values()]
    .filter((d) => d.kind === "rules")
    .map((d) => typeof d.doc.rules.monthly_visits),
};

// Edit one field, as docs/documents.md says: a str scalar, the change's message and its time in seconds.
const message = JSON.stringify({ user, device: login.device_id });
const time = Math.floor(Date.now() / 1000);
const edited = Automerge.change(household, { message, time }, (d) => {
  d.phone = new Automerge.ImmutableString(newPhone);
});
const good = await sync(login.token, cursor, [{ docId: hid, kind: "household", bytes: Automerge.getLastLocalChange(edited) }]);
seen.push_status = good.status;
seen.push_accepted = good.accepted;

// A change of the wrong type: the poverty status as a number.
const wrong = Automerge.change(edited, { message, time }, (d) => {
  d.poverty_status = 5;
});
const refused = await sync(login.token, good.cursor ?? cursor, [
  { docId: hid, kind: "household", bytes: Automerge.getLastLocalChange(wrong) },
]);
seen.wrong_status = refused.status;
seen.wrong_error = refused.error;
seen.household_id = hid;
console.log(JSON.stringify(seen));
