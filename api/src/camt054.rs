//! Reading a bank-to-customer debit/credit notification, ISO 20022 camt.054, as Finnish banks
//! deliver reference payments (viitesiirrot). Parsed with `roxmltree`: a read-only DOM that
//! refuses DTDs (so no entity tricks), matches elements by local name within the namespace, and
//! names the line and column of malformed XML.
//!
//! Each transaction (`Ntry/NtryDtls/TxDtls`, or an entry without details) becomes one
//! [`StatementPayment`]: amount with its currency, credit or debit, booked or not, booking date,
//! the structured creditor reference (`RmtInf/Strd/CdtrRefInf/Ref`), the payer, and the
//! account servicer reference (`AcctSvcrRef`) that identifies it when the file comes again.
//! Anything missing or malformed refuses the whole file, naming the element's path.

use chrono::NaiveDate;
use roxmltree::{Document, Node, ParsingOptions};

/// A notification as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The IBANs of the accounts it reports on (`Ntfctn/Acct/Id/IBAN`).
    pub accounts: Vec<String>,
    pub payments: Vec<StatementPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementPayment {
    /// Where it is in the file, e.g. `Ntfctn[1]/Ntry[2]/NtryDtls/TxDtls[1]`.
    pub path: String,
    /// The bank's id of the transaction (`AcctSvcrRef`); the entry's with the transaction's
    /// index when the transaction has none of its own.
    pub external_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub credit: bool,
    /// Booked (`BOOK`), not pending or informational.
    pub booked: bool,
    pub booked_on: NaiveDate,
    pub reference: Option<String>,
    pub payer_name: Option<String>,
}

/// Why a file is not a camt.054 notification Talo can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CamtError {
    pub rule: &'static str,
    pub message: String,
}

fn error(rule: &'static str, message: impl Into<String>) -> CamtError {
    CamtError {
        rule,
        message: message.into(),
    }
}

fn missing(path: &str) -> CamtError {
    error("camt054.element_missing", format!("{path}: missing"))
}

/// The first child element named `name`.
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The element at a path of names below `node`.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

/// The trimmed text at a path, if present and not blank.
fn text_at(node: Node<'_, '_>, path: &[&str]) -> Option<String> {
    at(node, path)
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// An amount written with at most two decimals (`1234.5`, `850.00`) in cents.
fn cents(path: &str, text: &str) -> Result<i64, CamtError> {
    let bad = || {
        error(
            "camt054.amount_format",
            format!("{path}: `{text}` is not an amount with at most two decimals"),
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 12
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    Ok(whole * 100 + fraction)
}

/// An amount element (`<Amt Ccy="EUR">12.30</Amt>`): cents and currency.
fn amount(node: Node<'_, '_>, path: &str) -> Result<(i64, String), CamtError> {
    let text = node.text().map(str::trim).unwrap_or_default();
    let currency = node
        .attribute("Ccy")
        .ok_or_else(|| missing(&format!("{path}/@Ccy")))?;
    Ok((cents(path, text)?, currency.to_owned()))
}

/// A date (`BookgDt/Dt`) or the date of a date-time (`BookgDt/DtTm`).
fn date(node: Node<'_, '_>, path: &str) -> Result<NaiveDate, CamtError> {
    let (text, field) = match text_at(node, &["Dt"]) {
        Some(t) => (t, "Dt"),
        None => (
            text_at(node, &["DtTm"]).ok_or_else(|| missing(&format!("{path}/Dt")))?,
            "DtTm",
        ),
    };
    text.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            error(
                "camt054.date_format",
                format!("{path}/{field}: `{text}` is not a date written YYYY-MM-DD"),
            )
        })
}

/// The status code: `<Sts>BOOK</Sts>` (versions up to .07) or `<Sts><Cd>BOOK</Cd></Sts>`.
fn status(entry: Node<'_, '_>) -> Option<String> {
    text_at(entry, &["Sts", "Cd"]).or_else(|| text_at(entry, &["Sts"]))
}

/// Reads a camt.054 notification.
pub fn parse(xml: &str) -> Result<Statement, CamtError> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(xml, options)
        .map_err(|e| error("camt054.xml_malformed", format!("not well-formed XML: {e}")))?;
    let root = document.root_element();
    let namespace = root.tag_name().namespace().unwrap_or_default();
    if root.tag_name().name() != "Document"
        || !namespace.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.054.")
    {
        return Err(error(
            "camt054.not_camt054",
            format!(
                "expected a camt.054 `Document` in namespace urn:iso:std:iso:20022:tech:xsd:camt.054.*, got `{}` in `{namespace}`",
                root.tag_name().name()
            ),
        ));
    }
    let notification = child(root, "BkToCstmrDbtCdtNtfctn").ok_or_else(|| {
        error(
            "camt054.not_camt054",
            "Document/BkToCstmrDbtCdtNtfctn: missing",
        )
    })?;
    let mut accounts = Vec::new();
    let mut payments = Vec::new();
    for (n, ntfctn) in children(notification, "Ntfctn").enumerate() {
        let ntfctn_path = format!("Ntfctn[{}]", n + 1);
        if let Some(iban) = text_at(ntfctn, &["Acct", "Id", "IBAN"]) {
            accounts.push(iban);
        }
        for (e, entry) in children(ntfctn, "Ntry").enumerate() {
            let path = format!("{ntfctn_path}/Ntry[{}]", e + 1);
            read_entry(entry, &path, &mut payments)?;
        }
    }
    Ok(Statement { accounts, payments })
}

fn read_entry(
    entry: Node<'_, '_>,
    path: &str,
    payments: &mut Vec<StatementPayment>,
) -> Result<(), CamtError> {
    let amount_node = child(entry, "Amt").ok_or_else(|| missing(&format!("{path}/Amt")))?;
    let (entry_cents, entry_currency) = amount(amount_node, &format!("{path}/Amt"))?;
    let indicator =
        text_at(entry, &["CdtDbtInd"]).ok_or_else(|| missing(&format!("{path}/CdtDbtInd")))?;
    let entry_credit = match indicator.as_str() {
        "CRDT" => true,
        "DBIT" => false,
        other => {
            return Err(error(
                "camt054.indicator",
                format!("{path}/CdtDbtInd: `{other}` is neither CRDT nor DBIT"),
            ));
        }
    };
    let booked = status(entry).is_some_and(|s| s == "BOOK");
    let booking = child(entry, "BookgDt").ok_or_else(|| missing(&format!("{path}/BookgDt")))?;
    let booked_on = date(booking, &format!("{path}/BookgDt"))?;
    let entry_ref = text_at(entry, &["AcctSvcrRef"]);
    let details: Vec<Node<'_, '_>> = children(entry, "NtryDtls")
        .flat_map(|d| children(d, "TxDtls"))
        .collect();
    if details.is_empty() {
        let external_id = entry_ref.ok_or_else(|| missing(&format!("{path}/AcctSvcrRef")))?;
        payments.push(StatementPayment {
            path: path.to_owned(),
            external_id,
            amount_cents: entry_cents,
            currency: entry_currency,
            credit: entry_credit,
            booked,
            booked_on,
            reference: None,
            payer_name: None,
        });
        return Ok(());
    }
    let single = details.len() == 1;
    for (t, tx) in details.into_iter().enumerate() {
        let tx_path = format!("{path}/NtryDtls/TxDtls[{}]", t + 1);
        let tx_amount = child(tx, "Amt")
            .map(|n| (n, format!("{tx_path}/Amt")))
            .or_else(|| {
                at(tx, &["AmtDtls", "TxAmt", "Amt"])
                    .map(|n| (n, format!("{tx_path}/AmtDtls/TxAmt/Amt")))
            });
        let (amount_cents, currency) = match tx_amount {
            Some((node, amount_path)) => amount(node, &amount_path)?,
            None if single => (entry_cents, entry_currency.clone()),
            None => return Err(missing(&format!("{tx_path}/Amt"))),
        };
        let credit = match text_at(tx, &["CdtDbtInd"]).as_deref() {
            Some("DBIT") => false,
            Some(_) => true,
            None => entry_credit,
        };
        let external_id = text_at(tx, &["Refs", "AcctSvcrRef"])
            .or_else(|| {
                entry_ref.as_ref().map(|r| {
                    if single {
                        r.clone()
                    } else {
                        format!("{r}/{}", t + 1)
                    }
                })
            })
            .ok_or_else(|| missing(&format!("{tx_path}/Refs/AcctSvcrRef")))?;
        let reference = children(tx, "RmtInf")
            .flat_map(|r| children(r, "Strd"))
            .find_map(|s| text_at(s, &["CdtrRefInf", "Ref"]));
        let payer_name = text_at(tx, &["RltdPties", "Dbtr", "Nm"])
            .or_else(|| text_at(tx, &["RltdPties", "Dbtr", "Pty", "Nm"]));
        payments.push(StatementPayment {
            path: tx_path,
            external_id,
            amount_cents,
            currency,
            credit,
            booked,
            booked_on,
            reference,
            payer_name,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(entries: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-04-03T06:00:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>N1</Id>
      <Acct><Id><IBAN>FI7944052020036082</IBAN></Id></Acct>
      {entries}
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>"#
        )
    }

    #[test]
    fn amounts_are_read_to_the_cent() {
        assert_eq!(cents("Amt", "850.00"), Ok(85_000));
        assert_eq!(cents("Amt", "850.5"), Ok(85_050));
        assert_eq!(cents("Amt", "12"), Ok(1_200));
        for bad in ["12.345", "-5.00", "1,00", "", ".50", "1e3"] {
            assert_eq!(
                cents("Amt", bad).unwrap_err().rule,
                "camt054.amount_format",
                "{bad}"
            );
        }
    }

    #[test]
    fn an_entry_without_details_is_one_payment_without_reference() {
        let xml = document(
            r#"<Ntry><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
               <BookgDt><DtTm>2026-04-02T10:00:00</DtTm></BookgDt><AcctSvcrRef>E1</AcctSvcrRef></Ntry>"#,
        );
        let statement = parse(&xml).unwrap();
        assert_eq!(statement.accounts, ["FI7944052020036082"]);
        let p = &statement.payments[0];
        assert_eq!(
            (
                p.external_id.as_str(),
                p.amount_cents,
                p.booked,
                p.reference.clone()
            ),
            ("E1", 1_000, true, None)
        );
        assert_eq!(p.booked_on, NaiveDate::from_ymd_opt(2026, 4, 2).unwrap());
    }

    #[test]
    fn what_is_wrong_is_named_by_path() {
        let no_amount = document(
            r#"<Ntry><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-04-02</Dt></BookgDt></Ntry>"#,
        );
        assert_eq!(
            parse(&no_amount).unwrap_err().message,
            "Ntfctn[1]/Ntry[1]/Amt: missing"
        );
        let bad_date = document(
            r#"<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2.4.2026</Dt></BookgDt></Ntry>"#,
        );
        let err = parse(&bad_date).unwrap_err();
        assert_eq!(err.rule, "camt054.date_format");
        assert!(err.message.starts_with("Ntfctn[1]/Ntry[1]/BookgDt/Dt:"));
        let malformed = parse("<Document><Unclosed></Document>").unwrap_err();
        assert_eq!(malformed.rule, "camt054.xml_malformed");
        assert!(malformed.message.contains("1:"), "{}", malformed.message);
        let other = parse(r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>"#)
            .unwrap_err();
        assert_eq!(other.rule, "camt054.not_camt054");
        let dtd = parse(r#"<!DOCTYPE x [<!ENTITY e "x">]><Document/>"#).unwrap_err();
        assert_eq!(dtd.rule, "camt054.xml_malformed");
    }
}
