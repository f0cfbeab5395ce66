//! The JSON Schema of declaration format v1, generated from the Rust types so that editors with
//! a YAML language server validate and complete declarations as the parser reads them.

use crate::declaration::Declaration;

/// The JSON Schema of a declaration, as a JSON value. Draft 7, the draft YAML language servers
/// and most editors support.
pub fn declaration_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Declaration>();
    let mut value = serde_json::to_value(&schema).expect("a generated schema serializes to JSON");
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".to_owned(),
            serde_json::Value::String(
                "https://greenlight.example/schema/declaration-v1.json".to_owned(),
            ),
        );
    }
    value
}
