//! Platform-shaped ids, handles and display names.
//!
//! - TikTok video ids: 19-digit numbers whose top 32 bits are the video's Unix time.
//! - X ids (people and posts): snowflakes, `(ms since 2010-11-04 01:42:54.657 UTC) << 22 | bits`.
//! - Instagram post ids: 11-character URL shortcodes (what the data export identifies posts by).
//! - Handles: lower-case ASCII; TikTok `[a-z0-9._]` up to 24, Instagram `[a-z0-9._]` up to
//!   30, X `[a-z0-9_]` up to 15.
//!
//! TikTok and Instagram profiles use the handle as `user_id` (`docs/DECISIONS.md`), so a
//! generated handle carries a suffix that is unique per generated index.

use rand::{Rng, RngExt};
use toker_model::Platform;

use super::pools::{NAMES, PSEUDO_DECORATIONS};

/// X's snowflake epoch, in Unix milliseconds.
const X_EPOCH_MS: u64 = 1_288_834_974_657;
/// 2014-01-01 in Unix milliseconds: the earliest account a generated X person has.
const X_ACCOUNTS_FROM_MS: u64 = 1_388_534_400_000;
/// Unix seconds of the oldest and newest generated video (2020-01-01 .. 2026-06-01).
const VIDEO_TIMES: (u64, u64) = (1_577_836_800, 1_780_272_000);
/// The alphabet of Instagram shortcodes.
const SHORTCODE_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The longest handle a platform accepts.
pub(super) const fn max_handle_len(platform: Platform) -> usize {
    match platform {
        Platform::TikTok => 24,
        Platform::Instagram => 30,
        Platform::X => 15,
    }
}

/// The separator a platform allows inside handles, besides letters and digits.
const fn separators(platform: Platform) -> &'static [char] {
    match platform {
        Platform::TikTok | Platform::Instagram => &['.', '_'],
        Platform::X => &['_'],
    }
}

/// Whether `handle` follows the platform's rules for generated handles.
#[cfg(test)]
pub(super) fn is_platform_handle(platform: Platform, handle: &str) -> bool {
    !handle.is_empty()
        && handle.len() <= max_handle_len(platform)
        && handle.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || separators(platform).contains(&c)
        })
}

/// A person's name, as drawn from one locale of the `fake` crate.
pub(super) struct PersonName {
    pub(super) first: &'static str,
    pub(super) last: &'static str,
}

impl PersonName {
    pub(super) fn draw<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let (firsts, lasts) = NAMES[rng.random_range(0..NAMES.len())];
        PersonName {
            first: firsts[rng.random_range(0..firsts.len())],
            last: lasts[rng.random_range(0..lasts.len())],
        }
    }

    /// The display name: `Emma Jones`, `Emma`, `Emma J.` or with a decoration.
    pub(super) fn pseudo<R: Rng + ?Sized>(&self, rng: &mut R) -> String {
        let mut out = match rng.random_range(0..10u8) {
            0..=5 => format!("{} {}", self.first, self.last),
            6 | 7 => self.first.to_owned(),
            _ => format!(
                "{} {}.",
                self.first,
                self.last.chars().next().unwrap_or('X')
            ),
        };
        if rng.random_bool(0.1) {
            out.push_str(PSEUDO_DECORATIONS[rng.random_range(0..PSEUDO_DECORATIONS.len())]);
        }
        out
    }
}

/// The lower-case ASCII letters of `name` (accents folded, other characters dropped).
fn push_letters(out: &mut String, name: &str) {
    for c in name.chars() {
        let folded = match c {
            'a'..='z' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                'a'
            }
            'ç' | 'Ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
            'ñ' | 'Ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
                'o'
            }
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
            'ý' | 'ÿ' | 'Ý' => 'y',
            'ß' => {
                out.push_str("ss");
                continue;
            }
            _ => continue,
        };
        out.push(folded);
    }
}

/// The readable part of a handle (`emma.jones`, `emma_cooks`), at most `max_len` bytes,
/// never ending in a digit or separator (so a numeric suffix stays recognisable).
pub(super) fn handle_base<R: Rng + ?Sized>(
    rng: &mut R,
    platform: Platform,
    name: &PersonName,
    word: &str,
    max_len: usize,
) -> String {
    let seps = separators(platform);
    let sep = seps[rng.random_range(0..seps.len())];
    let mut out = String::with_capacity(32);
    match rng.random_range(0..4u8) {
        0 => {
            push_letters(&mut out, name.first);
            push_letters(&mut out, name.last);
        }
        1 => {
            push_letters(&mut out, name.first);
            out.push(sep);
            push_letters(&mut out, name.last);
        }
        2 => {
            push_letters(&mut out, name.first);
            out.push(sep);
            out.push_str(word);
        }
        _ => {
            push_letters(&mut out, name.first);
            push_letters(
                &mut out,
                &name.last[..name.last.chars().next().map_or(0, char::len_utf8)],
            );
        }
    }
    out.truncate(max_len.max(1));
    while out.ends_with(|c: char| !c.is_ascii_lowercase()) {
        out.pop();
    }
    if out.is_empty() {
        out.push_str(&"user"[..max_len.clamp(1, 4)]);
    }
    out
}

/// A handle that is unique per `index` within one stream: the base, then a zero-padded
/// number that is a keyed permutation of `index` (so consecutive people do not get
/// consecutive numbers).
pub(super) fn unique_handle<R: Rng + ?Sized>(
    rng: &mut R,
    platform: Platform,
    name: &PersonName,
    word: &str,
    index: u64,
    key: u64,
) -> String {
    let suffix = unique_suffix(index, key);
    let room = max_handle_len(platform).saturating_sub(suffix.len());
    let mut handle = handle_base(rng, platform, name, word, room);
    handle.push_str(&suffix);
    handle
}

/// A handle with 0–4 random digits: not unique, as on X where the id is the key.
pub(super) fn casual_handle<R: Rng + ?Sized>(
    rng: &mut R,
    platform: Platform,
    name: &PersonName,
    word: &str,
) -> String {
    let digits = rng.random_range(0..=4usize);
    let room = max_handle_len(platform) - digits;
    let mut handle = handle_base(rng, platform, name, word, room);
    for _ in 0..digits {
        handle.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    handle
}

/// `index` as a zero-padded decimal of a width that grows with it (4, 6, … 18 digits),
/// permuted by `key` within that width. Distinct indexes give distinct suffixes: within
/// one width the permutation is a bijection, and different widths differ in length.
pub(super) fn unique_suffix(index: u64, key: u64) -> String {
    let mut width = 4;
    let mut bound: u64 = 10_000;
    while index >= bound {
        if width == 18 {
            return format!("{index:020}");
        }
        width += 2;
        bound *= 100;
    }
    format!("{:0width$}", permute_below(index, bound, key))
}

/// A keyed bijection on `[0, n)` (cycle-walking over a bijection on `[0, 2^bits)`).
pub(super) fn permute_below(x: u64, n: u64, key: u64) -> u64 {
    debug_assert!(x < n);
    let bits = 64 - (n - 1).leading_zeros();
    let mut y = x;
    loop {
        y = permute_bits(y, bits, key);
        if y < n {
            return y;
        }
    }
}

/// A keyed bijection on `[0, 2^bits)`: xor with the key, multiply by an odd constant,
/// xor-shift, three rounds (each step is invertible modulo `2^bits`).
pub(super) fn permute_bits(x: u64, bits: u32, key: u64) -> u64 {
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let shift = (bits / 2).max(1);
    let mut y = x & mask;
    for round in 0..3u32 {
        y ^= key.rotate_left(round * 21) & mask;
        y = y.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask;
        y ^= y >> shift;
    }
    y
}

/// An X snowflake id for an account created 2014–2022, unique per `index` in one stream.
pub(super) fn x_account_id(index: u64, key: u64) -> String {
    let offset = (X_ACCOUNTS_FROM_MS - X_EPOCH_MS) << 22;
    (offset + permute_bits(index, 60, key)).to_string()
}

/// An X snowflake id for an account created 2014–2022, drawn at random.
pub(super) fn x_random_account_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    let offset = (X_ACCOUNTS_FROM_MS - X_EPOCH_MS) << 22;
    (offset + (rng.next_u64() >> 4)).to_string()
}

/// A video id in the platform's shape.
pub(super) fn video_id<R: Rng + ?Sized>(rng: &mut R, platform: Platform) -> String {
    match platform {
        Platform::TikTok => {
            let time = rng.random_range(VIDEO_TIMES.0..VIDEO_TIMES.1);
            ((time << 32) | u64::from(rng.next_u32())).to_string()
        }
        Platform::X => {
            let ms = rng.random_range(VIDEO_TIMES.0 * 1000..VIDEO_TIMES.1 * 1000);
            (((ms - X_EPOCH_MS) << 22) | (rng.next_u64() & 0x3F_FFFF)).to_string()
        }
        Platform::Instagram => {
            let bits = rng.next_u64();
            (0..11)
                .map(|i| char::from(SHORTCODE_ALPHABET[((bits >> (i * 6)) & 63) as usize]))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    use super::*;

    #[test]
    fn permute_below_is_a_bijection() {
        for n in [1u64, 2, 7, 100, 1000, 10_000] {
            let images: HashSet<u64> = (0..n).map(|x| permute_below(x, n, 99)).collect();
            assert_eq!(images.len() as u64, n);
            assert!(images.iter().all(|y| *y < n));
        }
    }

    #[test]
    fn unique_suffixes_differ_across_widths() {
        let suffixes: HashSet<String> = (0..20_000).map(|i| unique_suffix(i, 5)).collect();
        assert_eq!(suffixes.len(), 20_000);
        assert_eq!(unique_suffix(3, 5).len(), 4);
        assert_eq!(unique_suffix(12_345, 5).len(), 6);
        assert_eq!(unique_suffix(u64::MAX, 5).len(), 20);
    }

    #[test]
    fn handles_follow_platform_rules() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for platform in Platform::ALL {
            for i in 0..2000u64 {
                let name = PersonName::draw(&mut rng);
                let unique = unique_handle(&mut rng, platform, &name, "cooks", i * 7919, 3);
                assert!(
                    is_platform_handle(platform, &unique),
                    "{platform}: {unique:?}"
                );
                let casual = casual_handle(&mut rng, platform, &name, "cooks");
                assert!(
                    is_platform_handle(platform, &casual),
                    "{platform}: {casual:?}"
                );
            }
            let name = PersonName::draw(&mut rng);
            let huge = unique_handle(&mut rng, platform, &name, "x", u64::MAX, 3);
            assert!(
                huge.len() <= max_handle_len(platform) || platform == Platform::X,
                "{huge}"
            );
        }
    }

    #[test]
    fn video_ids_have_platform_shapes() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        for _ in 0..500 {
            let tiktok = video_id(&mut rng, Platform::TikTok);
            assert_eq!(tiktok.len(), 19, "{tiktok}");
            let time = tiktok.parse::<u64>().unwrap() >> 32;
            assert!((VIDEO_TIMES.0..VIDEO_TIMES.1).contains(&time));
            let x = video_id(&mut rng, Platform::X);
            assert!(
                x.len() == 19 && x.bytes().all(|b| b.is_ascii_digit()),
                "{x}"
            );
            let ig = video_id(&mut rng, Platform::Instagram);
            assert!(
                ig.len() == 11 && ig.bytes().all(|b| SHORTCODE_ALPHABET.contains(&b)),
                "{ig}"
            );
        }
    }

    #[test]
    fn x_account_ids_are_snowflakes_from_2014_to_2023() {
        for i in 0..1000 {
            let id: u64 = x_account_id(i, 77).parse().unwrap();
            let ms = (id >> 22) + X_EPOCH_MS;
            assert!(
                (X_ACCOUNTS_FROM_MS..1_700_000_000_000).contains(&ms),
                "{ms}"
            );
        }
    }
}
