//! What the fuzz targets share: reading a query string as the console's pages do.

use std::collections::HashMap;

/// A query string's parameters, the first value of each name winning (as the
/// pages' `use_query_map().get` reads them). Bytes that are not UTF-8 are replaced.
pub fn query(data: &[u8]) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (k, v) in form_urlencoded::parse(data) {
        params.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    params
}

/// The value of `name`, empty when absent.
pub fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or("")
}
