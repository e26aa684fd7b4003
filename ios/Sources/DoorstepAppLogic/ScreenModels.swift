// View models of the screens beyond the forms: conflicts, attachments (photos and drawn signatures) and the records
// set aside for hand-over. The same flows as android/app-logic; XCTest runs them on a Mac.
import DoorstepKit
import Foundation

/// A JSON value of a conflicted field as a person reads it: strings without quotes, null as a dash.
public func readable(_ valueJson: String) -> String {
    guard let data = valueJson.data(using: .utf8),
          let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return valueJson }
    switch value {
    case let text as String: return text
    case is NSNull: return "—"
    case let number as NSNumber: return number.stringValue
    default: return valueJson
    }
}

/// A device time (ms since the epoch) as a short local date and time.
public func shortTime(_ ms: Int64) -> String {
    let formatter = DateFormatter()
    formatter.dateStyle = .short
    formatter.timeStyle = .short
    formatter.locale = Locale(identifier: L10n.language == "en" ? "en_US" : "zh_CN")
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(ms) / 1000))
}

/// Fields written on two devices, with both values and who wrote each where and when; choosing one resolves it.
@MainActor
public final class ConflictsModel: ObservableObject {
    private let client: DoorstepClient
    /// Only this document's conflicts (a household screen), or all of them.
    public let docId: String?
    @Published public private(set) var conflicts: [Conflict] = []
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient, docId: String? = nil) {
        self.client = client
        self.docId = docId
    }

    public func refresh() async {
        do {
            conflicts = try await client.conflicts().filter { docId == nil || $0.docId == docId }
            error = nil
        } catch {
            self.error = uiText(error)
        }
    }

    /// Keeps `value` for the conflicted field; the choice syncs like any edit.
    public func choose(_ conflict: Conflict, _ value: ConflictValue) async {
        do {
            try await client.resolveConflict(docId: conflict.docId, field: conflict.field, valueJson: value.valueJson)
            await refresh()
        } catch {
            self.error = uiText(error)
        }
    }

    /// "who on which device, when" for one value.
    public func writer(_ value: ConflictValue) -> String {
        L10n.format(.writtenBy, value.user, value.device, shortTime(value.deviceTimeMs))
    }
}

/// The photos, signatures and scanned forms of one visit or screening.
@MainActor
public final class AttachmentsModel: ObservableObject {
    private let client: DoorstepClient
    public let docId: String
    @Published public private(set) var attachments: [Attachment] = []
    /// Bytes of opened attachments by hash (thumbnails of local ones, and full images opened on demand).
    @Published public private(set) var opened: [String: Data] = [:]
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient, docId: String) {
        self.client = client
        self.docId = docId
    }

    public func refresh() async {
        do {
            attachments = try await client.attachments(of: docId)
            // Thumbnails come from what is on the phone; the rest is fetched when the user opens it.
            for attachment in attachments where attachment.local && opened[attachment.reference.hash] == nil {
                opened[attachment.reference.hash] = try? await client.openAttachment(attachment.reference.hash)
            }
            error = nil
        } catch {
            self.error = uiText(error)
        }
    }

    /// A photo from the camera or the library (already downscaled to JPEG by the screen).
    public func addPhoto(_ jpeg: Data, caption: String = "") async {
        await add(jpeg, kind: .photo, caption: caption)
    }

    /// A signature drawn with the finger, as PNG.
    public func addSignature(_ png: Data) async {
        await add(png, kind: .signature, caption: "")
    }

    /// A file chosen in the Files app (a scanned form).
    public func addFile(_ url: URL) async {
        do {
            _ = try await client.attachFile(to: docId, url: url, kind: .document)
            await refresh()
        } catch {
            self.error = uiText(error)
        }
    }

    private func add(_ bytes: Data, kind: AttachmentKind, caption: String) async {
        do {
            _ = try await client.attachBytes(to: docId, bytes: bytes, kind: kind, caption: caption)
            await refresh()
        } catch {
            self.error = uiText(error)
        }
    }

    /// The full bytes, downloaded first when they are not on the phone.
    public func open(_ hash: String) async -> Data? {
        if let data = opened[hash] { return data }
        do {
            let data = try await client.openAttachment(hash)
            opened[hash] = data
            return data
        } catch {
            self.error = uiText(error)
            return nil
        }
    }

    public func remove(_ hash: String) async {
        do {
            try await client.detach(hash, from: docId)
            opened[hash] = nil
            await refresh()
        } catch {
            self.error = uiText(error)
        }
    }

    /// Where an attachment is: uploaded, waiting, or only on the server.
    public func state(_ attachment: Attachment) -> String {
        if !attachment.local { return L10n.text(.notOnPhone) }
        switch attachment.upload {
        case .done, .notNeeded: return L10n.text(.uploaded)
        default: return L10n.text(.waitingUpload)
        }
    }
}

/// The records the server refused after a reassignment, shown and exported for hand-over; never dropped.
@MainActor
public final class SetAsideModel: ObservableObject {
    private let client: DoorstepClient
    @Published public private(set) var docs: [SetAsideDoc] = []
    @Published public private(set) var error: UiText?

    public init(client: DoorstepClient) { self.client = client }

    public func refresh() async {
        do {
            docs = try await client.setAsideDocs()
            error = nil
        } catch {
            self.error = uiText(error)
        }
    }

    public func reason(_ doc: SetAsideDoc) -> String {
        doc.reason == "out_of_scope" ? L10n.text(.reasonOutOfScope) : L10n.text(.reasonLeftScope)
    }

    /// One JSON document with every record set aside (its fields and its Automerge bytes), for the township office.
    public func export() -> Data {
        let items: [[String: Any]] = docs.map { doc in
            [
                "doc_id": doc.docId, "kind": doc.kind, "reason": doc.reason, "unsynced": doc.unsynced,
                "at_ms": doc.atMs, "record": (try? JSONSerialization.jsonObject(with: Data(doc.recordJson.utf8))) ?? doc.recordJson,
                "automerge_hex": doc.automergeHex,
            ]
        }
        return (try? JSONSerialization.data(withJSONObject: ["set_aside": items], options: [.prettyPrinted, .sortedKeys]))
            ?? Data()
    }
}
