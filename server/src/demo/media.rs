//! The demo county's attachments: small photos and signatures drawn by code (deterministic, no files), attached to a
//! few hundred recent visits through the device's own `Store::attach` and uploaded by its own blob phase, so the
//! supervisors' pages show thumbnails. A small pool is shared by many visits, as a helper's phone would hold the same
//! photo of a water cellar on two visits: the server stores each once.

use doorstep_core::attachment::{AttachmentKind, JPEG, PNG};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::OnceLock;

/// Share of the last two months' visits that carry an attachment (about 300 in the full county).
pub const SHARE: f64 = 0.06;

/// One generated attachment.
pub struct Media {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub kind: AttachmentKind,
    pub caption: &'static str,
}

const PHOTO_CAPTIONS: &[&str] =
    &["房屋外观 house front", "饮水水窖 water cellar", "厨房灶台 kitchen", "家中药品 medicines at home"];

/// The pool: eight photos and eight signatures, made once.
pub fn pool() -> &'static [Media] {
    static POOL: OnceLock<Vec<Media>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut out = Vec::new();
        for i in 0..8u32 {
            out.push(Media {
                bytes: photo(i),
                media_type: JPEG,
                kind: AttachmentKind::Photo,
                caption: PHOTO_CAPTIONS[i as usize % PHOTO_CAPTIONS.len()],
            });
            out.push(Media {
                bytes: signature(i),
                media_type: PNG,
                kind: AttachmentKind::Signature,
                caption: "户主签字 household head's signature",
            });
        }
        out
    })
}

/// An attachment for a visit: a signature when the household signed, else a photo.
pub fn pick(rng: &mut StdRng, signed: bool) -> &'static Media {
    let kind = if signed && rng.random_bool(0.5) { AttachmentKind::Signature } else { AttachmentKind::Photo };
    let of_kind: Vec<&Media> = pool().iter().filter(|m| m.kind == kind).collect();
    of_kind[rng.random_range(0..of_kind.len())]
}

/// A 320×240 JPEG: sky, hills, a house with a door and a window, some grain.
fn photo(seed: u32) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(u64::from(seed) + 1);
    let (w, h) = (320u32, 240u32);
    let hill = rng.random_range(120..170) as f32;
    let (hx, hy) = (rng.random_range(60..200), rng.random_range(110..140));
    let wall = [rng.random_range(170..230), rng.random_range(150..200), rng.random_range(120..170)];
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let grain = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed) % 13;
        let ground = hill + 18.0 * ((x as f32) / 40.0 + seed as f32).sin();
        let base = if x >= hx && x < hx + 90 && y >= hy && y < hy + 70 {
            if (x >= hx + 38 && x < hx + 54 && y >= hy + 34)
                || (x >= hx + 10 && x < hx + 28 && y >= hy + 12 && y < hy + 28)
            {
                [60, 45, 35]
            } else {
                wall
            }
        } else if y + 40 >= hy && y < hy && (x as i64 - (hx as i64 + 45)).abs() * 40 <= (y + 40 - hy) as i64 * 55 {
            // The roof: a triangle over the wall.
            [150, 50, 40]
        } else if (y as f32) > ground {
            [70, 120 + (y % 30) as u8, 50]
        } else {
            [120 + (y / 4) as u8, 170 + (y / 6) as u8, 230]
        };
        image::Rgb([base[0].saturating_add(grain as u8), base[1].saturating_add(grain as u8), base[2]])
    });
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75);
    img.write_with_encoder(encoder).expect("encoding an in-memory JPEG");
    out
}

/// A 240×80 black-on-white PNG scribble, like a name signed with a finger.
fn signature(seed: u32) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(u64::from(seed) + 100);
    let mut img = image::GrayImage::from_pixel(240, 80, image::Luma([255]));
    let (mut x, mut y) = (20.0f32, 45.0f32);
    for _ in 0..60 {
        let (nx, ny) = (x + rng.random_range(1.0..5.5), (y + rng.random_range(-9.0..9.0)).clamp(12.0, 68.0));
        for t in 0..12 {
            let f = t as f32 / 12.0;
            let (px, py) = ((x + (nx - x) * f) as u32, (y + (ny - y) * f) as u32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
                if px + dx < 240 && py + dy < 80 {
                    img.put_pixel(px + dx, py + dy, image::Luma([20]));
                }
            }
        }
        (x, y) = (nx, ny);
    }
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("encoding an in-memory PNG");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::attachment::{prepare, AttachmentLimits};

    #[test]
    fn the_pool_is_valid_small_and_deterministic() {
        for m in pool() {
            let r = prepare(&m.bytes, m.media_type, m.kind, m.caption, &AttachmentLimits::default()).unwrap();
            assert!(r.size < 64 * 1024, "{} bytes", r.size);
            assert!(crate::blobs::thumbnail(&m.bytes, m.media_type).is_ok());
        }
        assert_eq!(photo(3), photo(3));
        assert_eq!(signature(3), signature(3));
        assert_ne!(photo(1), photo(2));
    }
}
