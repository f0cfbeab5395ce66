//! CEL values shaped for the evaluator: containers shared rather than copied, and the
//! variables of an evaluation in one table.
//!
//! The `cel` crate copies a list's element whenever it binds it to a variable: each `for_each`
//! element, and each element of a comprehension (`inputs.exists(i, ...)`). For a declaration's
//! records (an input, a tool, a talent entry) that copy was a deep clone of a hash map, about a
//! fifth of the evaluation. [`Shared`] puts a container behind an `Arc`, so that the copy is a
//! reference count; it presents itself to the interpreter as the built-in container it wraps, so
//! every operator, function and conversion treats it exactly as that container.
//!
//! The crate has no such type of its own (its values are owned trees), hence this one; it
//! implements only the `Val` trait the crate provides for applications' own values.

use std::sync::Arc;

use cel::common::traits::{
    Adder, Comparer, Container, Divider, Indexer, Iterable, Modder, Multiplier, Negator, Sizer,
    Subtractor, Zeroer,
};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, Type,
};
use cel::common::value::{Builtin, BuiltinRef, CowVal, Val};
use cel::context::VariableResolver;

/// A built-in CEL container (`CelList`, `CelMap`) shared between the places that bind it.
#[derive(Debug)]
pub(crate) struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T: Val> Val for Shared<T> {
    fn get_type(&self) -> &Type {
        self.0.get_type()
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        T::cel_type()
    }

    fn as_adder<'b, 'v>(&'b self) -> Option<&'b (dyn Adder + 'v)>
    where
        Self: 'v,
    {
        self.0.as_adder()
    }

    fn as_comparer(&self) -> Option<&dyn Comparer> {
        self.0.as_comparer()
    }

    fn as_container(&self) -> Option<&dyn Container> {
        self.0.as_container()
    }

    fn as_divider<'b, 'v>(&'b self) -> Option<&'b (dyn Divider + 'v)>
    where
        Self: 'v,
    {
        self.0.as_divider()
    }

    fn as_indexer<'b, 'v>(&'b self) -> Option<&'b (dyn Indexer + 'v)>
    where
        Self: 'v,
    {
        self.0.as_indexer()
    }

    fn into_indexer<'v>(self: Box<Self>) -> Option<Box<dyn Indexer + 'v>>
    where
        Self: 'v,
    {
        // The interpreter steals an element out of a container nothing else refers to; a
        // shared one is copied first unless this was its last reference.
        let inner: Box<dyn Val + 'v> = match Arc::try_unwrap(self.0) {
            Ok(owned) => Box::new(owned),
            Err(shared) => shared.clone_as_boxed(),
        };
        inner.into_indexer()
    }

    fn as_iterable<'b, 'v>(&'b self) -> Option<&'b (dyn Iterable + 'v)>
    where
        Self: 'v,
    {
        self.0.as_iterable()
    }

    fn as_modder<'b, 'v>(&'b self) -> Option<&'b (dyn Modder + 'v)>
    where
        Self: 'v,
    {
        self.0.as_modder()
    }

    fn as_multiplier<'b, 'v>(&'b self) -> Option<&'b (dyn Multiplier + 'v)>
    where
        Self: 'v,
    {
        self.0.as_multiplier()
    }

    fn as_negator<'b, 'v>(&'b self) -> Option<&'b (dyn Negator + 'v)>
    where
        Self: 'v,
    {
        self.0.as_negator()
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        self.0.as_sizer()
    }

    fn as_subtractor<'b, 'v>(&'b self) -> Option<&'b (dyn Subtractor + 'v)>
    where
        Self: 'v,
    {
        self.0.as_subtractor()
    }

    fn as_zeroer(&self) -> Option<&dyn Zeroer> {
        self.0.as_zeroer()
    }

    fn equals(&self, other: &dyn Val) -> bool {
        self.0.equals(other)
    }

    fn clone_as_boxed<'v>(&self) -> Box<dyn Val + 'v>
    where
        Self: 'v,
    {
        Box::new(self.clone())
    }

    // The interpreter recognises its own containers through these two (a function taking a
    // list downcasts to it, a value is converted to `cel::Value` by them): answering as the
    // wrapped container is what makes a `Shared` indistinguishable from it.
    fn as_builtin<'b, 'v>(&'b self) -> BuiltinRef<'b, 'v>
    where
        Self: 'v,
    {
        self.0.as_builtin()
    }

    fn into_builtin<'v>(self: Box<Self>) -> Option<Builtin<'v>>
    where
        Self: 'v,
    {
        let inner: Box<dyn Val + 'v> = match Arc::try_unwrap(self.0) {
            Ok(owned) => Box::new(owned),
            Err(shared) => shared.clone_as_boxed(),
        };
        inner.into_builtin()
    }
}

/// The variables every expression of an evaluation sees (the declaration's fields, `today`,
/// the pack's terms, `principles`), looked up by name in a sorted table.
///
/// Bound as the root context's resolver, they replace a chain of scopes (declaration, terms,
/// principles), each of which the interpreter searched in turn for every name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Variables<'v> {
    sorted: Vec<(String, Box<dyn Val + 'v>)>,
}

impl<'v> Variables<'v> {
    /// Binds `name`, replacing an earlier value of that name.
    pub(crate) fn insert(&mut self, name: &str, value: Box<dyn Val + 'v>) {
        match self.sorted.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => self.sorted[i].1 = value,
            Err(i) => self.sorted.insert(i, (name.to_owned(), value)),
        }
    }
}

impl VariableResolver for Variables<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let i = self
            .sorted
            .binary_search_by(|(n, _)| n.as_str().cmp(variable))
            .ok()?;
        Some(CowVal::Borrowed(self.sorted[i].1.as_ref()))
    }
}

/// Why a value cannot be a CEL value (a map key that is not a string, a number out of range).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ToCelError(String);

impl serde::ser::Error for ToCelError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ToCelError(msg.to_string())
    }
}

/// Serializes `value` straight into CEL values, lists and maps [`Shared`], as `serde_json`
/// would write it (unit variants as their names, `None` as null, fields skipped as the type's
/// serde attributes say).
///
/// The `cel` crate's own serializer builds `cel::Value` trees, which must then be copied into
/// `Val`s; going through `serde_json::Value` costs the same copy. Writing the values directly
/// halves the cost of preparing a declaration for evaluation.
pub(crate) fn to_cel<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Box<dyn Val + 'static>, ToCelError> {
    value.serialize(CelSerializer)
}

type Owned = Box<dyn Val + 'static>;

struct CelSerializer;

/// A list or struct-like value being serialized.
struct Seq(Vec<Owned>);

/// A map being serialized: its entries and the key waiting for its value.
struct Map {
    entries: std::collections::HashMap<CelMapKey<'static>, Owned>,
    key: Option<CelMapKey<'static>>,
}

fn string(s: String) -> Owned {
    Box::new(CelString::from(s))
}

impl serde::Serializer for CelSerializer {
    type Ok = Owned;
    type Error = ToCelError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = Map;

    fn serialize_bool(self, v: bool) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelBool::from(v)))
    }
    fn serialize_i8(self, v: i8) -> Result<Owned, ToCelError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Owned, ToCelError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Owned, ToCelError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelInt::from(v)))
    }
    fn serialize_u8(self, v: u8) -> Result<Owned, ToCelError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Owned, ToCelError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Owned, ToCelError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Owned, ToCelError> {
        // As `serde_json` does: an integer when it fits, a double otherwise.
        match i64::try_from(v) {
            Ok(i) => self.serialize_i64(i),
            Err(_) => self.serialize_f64(v as f64),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<Owned, ToCelError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelDouble::from(v)))
    }
    fn serialize_char(self, v: char) -> Result<Owned, ToCelError> {
        Ok(string(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Owned, ToCelError> {
        Ok(string(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Owned, ToCelError> {
        let items = v
            .iter()
            .map(|b| Box::new(CelInt::from(i64::from(*b))) as Owned);
        Ok(Box::new(Shared::new(CelList::from(
            items.collect::<Vec<_>>(),
        ))))
    }
    fn serialize_none(self) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelNull))
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Owned, ToCelError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelNull))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelNull))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Owned, ToCelError> {
        Ok(Box::new(CelString::from(variant)))
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Owned, ToCelError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Owned, ToCelError> {
        let mut entries = std::collections::HashMap::with_capacity(1);
        entries.insert(CelMapKey::from(variant), value.serialize(self)?);
        Ok(Box::new(Shared::new(CelMap::from(entries))))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, ToCelError> {
        Ok(Seq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, ToCelError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq, ToCelError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Seq, ToCelError> {
        Err(ToCelError(format!(
            "variant {variant}: tuple variants have no CEL form"
        )))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map, ToCelError> {
        Ok(Map {
            entries: std::collections::HashMap::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Map, ToCelError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Map, ToCelError> {
        Err(ToCelError(format!(
            "variant {variant}: struct variants have no CEL form"
        )))
    }
}

impl Seq {
    fn push<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToCelError> {
        self.0.push(value.serialize(CelSerializer)?);
        Ok(())
    }
    fn finish(self) -> Result<Owned, ToCelError> {
        Ok(Box::new(Shared::new(CelList::from(self.0))))
    }
}

impl serde::ser::SerializeSeq for Seq {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToCelError> {
        self.push(v)
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

impl serde::ser::SerializeTuple for Seq {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToCelError> {
        self.push(v)
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

impl serde::ser::SerializeTupleStruct for Seq {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_field<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToCelError> {
        self.push(v)
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

impl serde::ser::SerializeTupleVariant for Seq {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_field<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToCelError> {
        self.push(v)
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

impl Map {
    fn finish(self) -> Result<Owned, ToCelError> {
        Ok(Box::new(Shared::new(CelMap::from(self.entries))))
    }
}

impl serde::ser::SerializeMap for Map {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ToCelError> {
        let key = key.serialize(CelSerializer)?;
        match key.downcast_ref::<CelString>() {
            Some(s) => {
                self.key = Some(CelMapKey::from(s.inner().to_owned()));
                Ok(())
            }
            None => Err(ToCelError(format!(
                "a map key must be a string, not {}",
                key.get_type().name()
            ))),
        }
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), ToCelError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ToCelError("a map value without its key".into()))?;
        self.entries.insert(key, value.serialize(CelSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

impl serde::ser::SerializeStruct for Map {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ToCelError> {
        self.entries
            .insert(CelMapKey::from(key), value.serialize(CelSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

impl serde::ser::SerializeStructVariant for Map {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ToCelError> {
        self.entries
            .insert(CelMapKey::from(key), value.serialize(CelSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

/// The fields of a struct serialized by [`to_cel`], by name.
pub(crate) fn fields_of<T: serde::Serialize>(
    value: &T,
) -> Result<Vec<(String, Owned)>, ToCelError> {
    let not_a_struct = || ToCelError("expected a struct".into());
    match to_cel(value)?.into_builtin() {
        Some(Builtin::Map(map)) => map
            .into_inner()
            .into_iter()
            .map(|(key, value)| match key {
                CelMapKey::String(name) => Ok((name.inner().to_owned(), value)),
                _ => Err(not_a_struct()),
            })
            .collect(),
        _ => Err(not_a_struct()),
    }
}
