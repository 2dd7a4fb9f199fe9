//! A bank statement for the import benchmark: a camt.054 reference payment notification paying
//! invoices by their national references, as a bank delivers one morning's payments.

use chrono::NaiveDate;
use talo_domain::reference::national_reference;

/// One credit per invoice `LA-{year}-{number}` for `numbers`, booked on `booked_on` to
/// `iban`, each with its own bank id under `run` (so a second run records them again).
pub fn paying_invoices(
    iban: &str,
    year: u64,
    numbers: std::ops::RangeInclusive<u64>,
    booked_on: NaiveDate,
    run: &str,
) -> String {
    let entries: String = numbers
        .map(|number| {
            // As the ledger makes an invoice's reference from its number.
            let reference = national_reference(year * 1_000_000 + number);
            let cents = 40_000 + number % 60_000;
            format!(
                "<Ntry><Amt Ccy=\"EUR\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
                 <BookgDt><Dt>{booked_on}</Dt></BookgDt><AcctSvcrRef>{run}-{number}</AcctSvcrRef>\
                 <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>MAKSAJA {number}</Nm></Dbtr></RltdPties>\
                 <RmtInf><Strd><CdtrRefInf><Ref>{reference}</Ref></CdtrRefInf></Strd></RmtInf>\
                 </TxDtls></NtryDtls></Ntry>",
                cents / 100,
                cents % 100
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\"><BkToCstmrDbtCdtNtfctn>\
         <GrpHdr><MsgId>{run}</MsgId><CreDtTm>{booked_on}T06:00:00+02:00</CreDtTm></GrpHdr>\
         <Ntfctn><Id>{run}</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{entries}</Ntfctn>\
         </BkToCstmrDbtCdtNtfctn></Document>"
    )
}
