//! Reports as CSV: the query string read into a report's input (errors name the parameter),
//! rows written with a header of the same field names GraphQL uses.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Reads a download's query string into a report's input. A missing or malformed parameter is
/// refused with its name.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // An empty parameter (`propertyId=`, as a form sends it) means "not given".
    let given: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(_, v)| !v.is_empty()))
        .finish();
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(given.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // A missing field is reported at the root; its name is in the message.
        let field = if path == "." {
            inner
                .split('`')
                .nth(1)
                .map_or_else(|| "query".to_owned(), str::to_owned)
        } else {
            path
        };
        ApiError::BadInput {
            field: field.into(),
            rule: "query.format",
            message: inner,
        }
    })
}

/// Writes rows as CSV with a header row. Empty cells are absent values.
pub fn render<R: Serialize>(rows: &[R]) -> Result<String, ApiError> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .map_err(|e| ApiError::Internal(format!("writing a CSV row: {e}")))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("finishing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(format!("CSV is not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Input {
        from: chrono::DateTime<chrono::Utc>,
        property_id: Option<uuid::Uuid>,
    }

    #[test]
    fn a_missing_parameter_is_named() {
        let e = parse_query::<Input>("from=&propertyId=").unwrap_err();
        assert_eq!(e.field(), Some("from"));
    }

    #[test]
    fn an_empty_parameter_is_absent() {
        let input = parse_query::<Input>("from=2026-03-02T08%3A00%3A00Z&propertyId=").unwrap();
        assert_eq!(input.property_id, None);
    }

    #[test]
    fn a_malformed_parameter_is_named() {
        let e = parse_query::<Input>("from=yesterday").unwrap_err();
        assert_eq!(e.field(), Some("from"));
        assert_eq!(e.rule(), Some("query.format"));
    }

    #[test]
    fn a_header_row_comes_first() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            property_id: &'static str,
            open_items: u32,
            median_seconds: Option<i64>,
        }
        let csv = render(&[Row {
            property_id: "a",
            open_items: 2,
            median_seconds: None,
        }])
        .unwrap();
        assert_eq!(csv, "propertyId,openItems,medianSeconds\na,2,\n");
    }
}
