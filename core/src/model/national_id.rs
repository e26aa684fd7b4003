//! Resident identity numbers (GB 11643): 17 digits, a check character, the birth date inside.

/// Why a national ID number is not acceptable; each maps to a field error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    Length,
    Characters,
    CheckDigit,
    BirthDate,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// Checks the form and check character of an ID number; the birth-date comparison is done by the caller.
pub fn check_national_id(id: &str) -> Result<(), IdProblem> {
    let bytes = id.as_bytes();
    if bytes.len() != 18 || id.chars().count() != 18 {
        return Err(IdProblem::Length);
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x')
    {
        return Err(IdProblem::Characters);
    }
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    if CHECK[(sum % 11) as usize] != bytes[17].to_ascii_uppercase() {
        return Err(IdProblem::CheckDigit);
    }
    if national_id_birth_date(id).is_none() {
        return Err(IdProblem::BirthDate);
    }
    Ok(())
}

/// The birth date an ID number carries, as `YYYY-MM-DD`, if it is a real date.
pub fn national_id_birth_date(id: &str) -> Option<String> {
    let digits = id.get(6..14)?;
    let date = chrono::NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(date.format("%Y-%m-%d").to_string())
}

/// The form shown in lists and to roles that may not see the number: region and check character only.
pub fn mask_national_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
}

/// Appends the check character to 17 digits; used by tests and the demo county to make valid numbers.
pub fn with_check_digit(first17: &str) -> String {
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", CHECK[(sum % 11) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_number_passes() {
        // The example number of GB 11643's annex.
        assert_eq!(check_national_id("11010519491231002X"), Ok(()));
        assert_eq!(national_id_birth_date("11010519491231002X").as_deref(), Some("1949-12-31"));
    }

    #[test]
    fn wrong_check_digit_length_and_characters_are_told_apart() {
        assert_eq!(check_national_id("110105194912310021"), Err(IdProblem::CheckDigit));
        assert_eq!(check_national_id("1101051949123100"), Err(IdProblem::Length));
        assert_eq!(check_national_id("11010519491231A02X"), Err(IdProblem::Characters));
        let bad_date = with_check_digit("11010519491331002");
        assert_eq!(check_national_id(&bad_date), Err(IdProblem::BirthDate));
    }

    #[test]
    fn masking_keeps_only_region_and_check() {
        assert_eq!(mask_national_id("11010519491231002X"), "1101************2X");
        assert_eq!(mask_national_id("123"), "***");
    }
}
