//! The numbers that take a payment to the right invoice: the Finnish national reference
//! (viitenumero), the ISO 11649 creditor reference (RF), the IBAN of the account paid to, and
//! the virtual barcode (pankkiviivakoodi, versions 4 and 5) that carries all of them with the
//! amount and the due date.
//!
//! National reference: 3 to 19 base digits and a check digit, 4 to 20 digits in all. The check
//! digit: multiply the base digits by 7, 3, 1, 7, 3, 1, ... starting from the rightmost, sum,
//! and take the distance to the next multiple of ten (0 if the sum is one). Leading zeros are
//! not significant (banks strip them), and people write the number in groups of five.
//!
//! RF reference: `RF`, two check digits and 1 to 21 letters or digits. The check digits make
//! the whole number ≡ 1 (mod 97) once `RF` and the check digits are moved to the end and
//! letters are read as numbers (A = 10, ..., Z = 35). Talo makes its RF references from its
//! national references, as Finnish banks do, so either one finds the invoice.
//!
//! Virtual barcode, 54 digits (Finance Finland, "Pankkiviivakoodi"):
//!
//! | version 4 (national)        | digits | version 5 (RF)                          | digits |
//! |-----------------------------|-------:|-----------------------------------------|-------:|
//! | `4`                         | 1      | `5`                                     | 1      |
//! | IBAN without `FI`           | 16     | IBAN without `FI`                       | 16     |
//! | euros, zero-padded          | 6      | euros, zero-padded                      | 6      |
//! | cents                       | 2      | cents                                   | 2      |
//! | reserve `000`               | 3      | RF check digits                         | 2      |
//! | reference, zero-padded      | 20     | RF reference body, zero-padded          | 21     |
//! | due date `YYMMDD`           | 6      | due date `YYMMDD`                       | 6      |
//!
//! Only Finnish accounts fit (16 digits after `FI`); an amount over 999 999,99 € and an RF
//! reference with letters cannot be carried.

use chrono::NaiveDate;

use crate::rejection::Rejection;

/// The check digit of a national reference's base digits (7, 3, 1 from the right).
pub fn national_check_digit(base: &str) -> u32 {
    let sum: u32 = base
        .bytes()
        .rev()
        .zip([7u32, 3, 1].into_iter().cycle())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    (10 - sum % 10) % 10
}

/// The national reference for `base` (3 to 19 digits, not starting with zero): the base with
/// its check digit appended.
pub fn national_reference(base: u64) -> String {
    let base = format!("{base:03}");
    format!("{base}{}", national_check_digit(&base))
}

/// The RF creditor reference for a body of letters and digits: `RF`, check digits, body.
pub fn rf_reference(body: &str) -> String {
    let body = body.to_ascii_uppercase();
    let remainder = mod97(&format!("{body}RF00"));
    format!("RF{:02}{body}", 98 - remainder)
}

/// A reference as a payer gave it, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A national reference, digits only, without leading zeros.
    National(String),
    /// An RF reference: its two check digits and its body (uppercase, no spaces).
    Creditor { check: String, body: String },
}

impl Reference {
    /// Reads a national (`1232 8`, `00012328`) or RF (`RF18 5390 0754 7034`) reference. Spaces
    /// are ignored; the message says which rule the text breaks.
    pub fn parse(field: &'static str, text: &str) -> Result<Reference, Rejection> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = |rule: &'static str, why: String| Rejection::invalid(field, rule, why);
        if compact.is_empty() {
            return Err(bad("ledger.reference_format", "must not be empty".into()));
        }
        if compact.len() >= 2 && compact[..2].eq_ignore_ascii_case("RF") {
            let upper = compact.to_ascii_uppercase();
            let (check, body) = (upper.get(2..4).unwrap_or(""), upper.get(4..).unwrap_or(""));
            if check.len() != 2
                || !check.bytes().all(|b| b.is_ascii_digit())
                || body.is_empty()
                || body.len() > 21
                || !body.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(bad(
                    "ledger.reference_format",
                    format!(
                        "`{text}` is not an RF reference: RF, two check digits and 1-21 letters or digits"
                    ),
                ));
            }
            if mod97(&format!("{body}RF{check}")) != 1 {
                return Err(bad(
                    "ledger.reference_check_digit",
                    format!("`{text}`: the RF check digits do not match (ISO 11649, mod 97)"),
                ));
            }
            return Ok(Reference::Creditor {
                check: check.to_owned(),
                body: body.to_owned(),
            });
        }
        if !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "ledger.reference_format",
                format!("`{text}` is not a reference: digits only, or RF and its check digits"),
            ));
        }
        let significant = compact.trim_start_matches('0');
        if !(4..=20).contains(&significant.len()) {
            return Err(bad(
                "ledger.reference_format",
                format!("`{text}` is not a national reference: 4-20 digits without leading zeros"),
            ));
        }
        let (base, check) = significant.split_at(significant.len() - 1);
        if national_check_digit(base).to_string() != check {
            return Err(bad(
                "ledger.reference_check_digit",
                format!("`{text}`: the check digit does not match (weights 7, 3, 1)"),
            ));
        }
        Ok(Reference::National(significant.to_owned()))
    }

    /// The national reference this stands for: itself, or the body of an RF reference made
    /// from a national one.
    pub fn national(&self) -> Option<String> {
        match self {
            Reference::National(n) => Some(n.clone()),
            Reference::Creditor { body, .. } => {
                let digits = body.trim_start_matches('0');
                Reference::parse("reference", digits)
                    .ok()
                    .and_then(|r| match r {
                        Reference::National(n) => Some(n),
                        Reference::Creditor { .. } => None,
                    })
            }
        }
    }
}

/// A national reference in groups of five from the right, as printed: `12345 67890 12`.
pub fn group_national(reference: &str) -> String {
    let first = reference.len() % 5;
    let mut groups = Vec::new();
    if first > 0 {
        groups.push(&reference[..first]);
    }
    let mut i = first;
    while i < reference.len() {
        groups.push(&reference[i..i + 5]);
        i += 5;
    }
    groups.join(" ")
}

/// An RF reference in groups of four from the left, as printed: `RF18 5390 0754 7034`.
pub fn group_rf(reference: &str) -> String {
    reference
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The remainder mod 97 of a text of digits and letters read as a number (A = 10, ..., Z = 35).
fn mod97(text: &str) -> u32 {
    text.bytes().fold(0u32, |acc, b| {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'a'..=b'z' => u32::from(b - b'a') + 10,
            _ => 0,
        };
        if value >= 10 {
            (acc * 100 + value) % 97
        } else {
            (acc * 10 + value) % 97
        }
    })
}

/// Lengths of IBANs by country, for the countries Talo's customers bank in and their
/// neighbours; other countries are checked by the mod-97 rule and the general length only.
const IBAN_LENGTHS: [(&str, usize); 10] = [
    ("FI", 18),
    ("AX", 18),
    ("SE", 24),
    ("NO", 15),
    ("DK", 18),
    ("EE", 20),
    ("DE", 22),
    ("FR", 27),
    ("NL", 18),
    ("GB", 22),
];

/// An account number checked by the IBAN rules (ISO 13616): compact, uppercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

impl Iban {
    /// Reads an IBAN, spaces allowed: two letters, two check digits, the account; the whole
    /// number ≡ 1 (mod 97) once the first four characters are moved to the end.
    pub fn parse(field: &'static str, text: &str) -> Result<Iban, Rejection> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let bad = |rule: &'static str, why: String| Rejection::invalid(field, rule, why);
        let bytes = compact.as_bytes();
        let shaped = (15..=34).contains(&bytes.len())
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..4].iter().all(u8::is_ascii_digit)
            && bytes[4..].iter().all(u8::is_ascii_alphanumeric);
        if !shaped {
            return Err(bad(
                "ledger.iban_format",
                format!(
                    "`{text}` is not an IBAN: country letters, two check digits and the account"
                ),
            ));
        }
        let country = &compact[..2];
        if let Some((_, length)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country)
            && compact.len() != *length
        {
            return Err(bad(
                "ledger.iban_format",
                format!("`{text}`: a {country} IBAN has {length} characters"),
            ));
        }
        let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
        if mod97(&rearranged) != 1 {
            return Err(bad(
                "ledger.iban_check_digits",
                format!("`{text}`: the check digits do not match (mod 97)"),
            ));
        }
        Ok(Iban(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// In groups of four, as printed: `FI79 4405 2020 0360 82`.
    pub fn grouped(&self) -> String {
        group_rf(&self.0)
    }
}

/// The 54-digit virtual barcode of a payment, version 4 for a national reference and version 5
/// for an RF one (see the module's table). `None` when the payment cannot be carried: a
/// foreign account, an amount over 999 999,99 € or under a cent, an RF reference with letters.
pub fn virtual_barcode(
    iban: &Iban,
    amount_cents: i64,
    reference: &Reference,
    due_on: Option<NaiveDate>,
) -> Option<String> {
    let account = iban.as_str().strip_prefix("FI")?;
    if account.len() != 16 || !(1..=99_999_999).contains(&amount_cents) {
        return None;
    }
    let euros = amount_cents / 100;
    let cents = amount_cents % 100;
    let due = due_on.map_or_else(|| "000000".to_owned(), |d| d.format("%y%m%d").to_string());
    let code = match reference {
        Reference::National(digits) => {
            format!("4{account}{euros:06}{cents:02}000{digits:0>20}{due}")
        }
        Reference::Creditor { check, body } => {
            if !body.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            format!("5{account}{euros:06}{cents:02}{check}{body:0>21}{due}")
        }
    };
    (code.len() == 54).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod97_reads_letters_as_two_digits() {
        // "RF" is 2715: 2715 mod 97 = 96.
        assert_eq!(mod97("RF"), 2715 % 97);
        assert_eq!(
            mod97("1234567890123456789"),
            (1234567890123456789u64 % 97) as u32
        );
    }
}
