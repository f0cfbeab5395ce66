//! CEL values and variables shaped for the evaluator (`eval.rs`), so that the `cel` crate's
//! interpreter copies, hashes and searches as little as possible:
//!
//! - [`Shared`]: a list or map behind an `Arc`. The crate copies a list's element whenever it
//!   binds it to a variable (each `for_each` element, each element of `inputs.exists(i, ...)`);
//!   for a declaration's records that was a deep copy of a hash map. A `Shared` copies as a
//!   reference count and presents itself as the container it wraps.
//! - [`Record`]: a map with string keys read by comparing names, the crate's SipHash map built
//!   only when something needs it (equality, key iteration, conversion).
//! - [`Variables`] and [`Item`]: the variables of an evaluation as resolvers, one table for the
//!   declaration, terms and principles, and `item`/`index` for a `for_each` element, instead of
//!   nested scopes searched in turn; both answer dotted names (`item.kind`) whole.
//! - [`fields_of`] and the serializer behind it: a declaration straight into these values.
//! - [`detach`]: a copy of a computed value that borrows nothing, to keep it beyond its scope.
//!
//! The crate has none of these of its own (its values are owned trees); they implement only the
//! `Val` and `VariableResolver` traits it provides for applications. The tests at the end hold
//! them to the crate's own values, expression by expression.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::ExecutionError;
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

/// A CEL map with string keys, as a declaration's records are (an input, a tool, the
/// production): its fields in a short list, found by comparing names.
///
/// The crate's own map hashes every key with SipHash when it is built and on every lookup; for
/// records of a dozen fields, comparing names is several times cheaper. Reading a field by its
/// name is all most rules do. Anything else (equality, a key that is not a string, iterating the
/// keys, a downcast to the crate's map, conversion to `cel::Value`) goes to the crate's map,
/// built from the fields the first time it is needed, so a `Record` behaves exactly as that map.
#[derive(Debug)]
pub(crate) struct Record<'v> {
    fields: Vec<(Cow<'v, str>, Box<dyn Val + 'v>)>,
    map: OnceLock<CelMap<'v>>,
}

impl<'v> Record<'v> {
    /// A record of `fields`, whose names are distinct.
    pub(crate) fn new(fields: Vec<(Cow<'v, str>, Box<dyn Val + 'v>)>) -> Self {
        Record {
            fields,
            map: OnceLock::new(),
        }
    }

    fn field(&self, name: &str) -> Option<&(dyn Val + 'v)> {
        self.fields
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The same fields as the crate's map.
    fn map(&self) -> &CelMap<'v> {
        self.map.get_or_init(|| {
            let entries = self.fields.iter().map(|(name, value)| {
                let key = match name {
                    Cow::Borrowed(s) => CelMapKey::from(*s),
                    Cow::Owned(s) => CelMapKey::from(s.clone()),
                };
                (key, value.clone())
            });
            CelMap::from(entries.collect::<HashMap<_, _>>())
        })
    }
}

impl Clone for Record<'_> {
    fn clone(&self) -> Self {
        Record::new(self.fields.clone())
    }
}

impl<'v> Val for Record<'v> {
    fn get_type(&self) -> &Type {
        CelMap::cel_type()
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        CelMap::cel_type()
    }

    fn as_container(&self) -> Option<&dyn Container> {
        Some(self)
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn into_indexer<'w>(self: Box<Self>) -> Option<Box<dyn Indexer + 'w>>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        self.map().as_iterable()
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        self.map().as_sizer()
    }

    fn as_zeroer(&self) -> Option<&dyn Zeroer> {
        self.map().as_zeroer()
    }

    fn equals(&self, other: &dyn Val) -> bool {
        self.map().equals(other)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }

    fn as_builtin<'b, 'w>(&'b self) -> BuiltinRef<'b, 'w>
    where
        Self: 'w,
    {
        BuiltinRef::Map(self.map())
    }

    fn into_builtin<'w>(self: Box<Self>) -> Option<Builtin<'w>>
    where
        Self: 'w,
    {
        self.map();
        self.map.into_inner().map(Builtin::Map)
    }
}

impl Container for Record<'_> {
    fn contains(&self, key: &dyn Val) -> Result<bool, ExecutionError> {
        match key.downcast_ref::<CelString>() {
            Some(name) => Ok(self.field(name.inner()).is_some()),
            None => self.map().contains(key),
        }
    }
}

impl<'v> Indexer for Record<'v> {
    fn get<'b, 'w>(&'b self, key: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        match key.downcast_ref::<CelString>() {
            Some(name) => match self.field(name.inner()) {
                Some(value) => Ok(CowVal::Borrowed(value)),
                // What the crate's map answers for a missing string key.
                None => Err(ExecutionError::NoSuchKey(Arc::new(name.inner().to_owned()))),
            },
            None => self.map().get(key),
        }
    }

    fn steal<'w>(self: Box<Self>, key: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        self.get(key).map(CowVal::into_owned)
    }
}

/// A copy of `value` that borrows nothing, when it is a scalar, a string or a list of them.
pub(crate) fn detach(value: &dyn Val) -> Option<Box<dyn Val + 'static>> {
    if let Some(b) = value.downcast_ref::<CelBool>() {
        return Some(Box::new(*b));
    }
    if let Some(i) = value.downcast_ref::<CelInt>() {
        return Some(Box::new(*i));
    }
    if let Some(s) = value.downcast_ref::<CelString>() {
        return Some(Box::new(CelString::from(s.inner().to_owned())));
    }
    if let Some(d) = value.downcast_ref::<CelDouble>() {
        return Some(Box::new(*d));
    }
    if value.downcast_ref::<CelNull>().is_some() {
        return Some(Box::new(CelNull));
    }
    if let Some(list) = value.downcast_ref::<CelList>() {
        let items = list.inner().iter().map(|v| detach(v.as_ref()));
        return Some(Box::new(Shared::new(CelList::from(
            items.collect::<Option<Vec<_>>>()?,
        ))));
    }
    None
}

/// The variables every expression of an evaluation sees (the declaration's fields, `today`,
/// the pack's terms, `principles`), in one table.
///
/// Bound as the root context's resolver, they replace a chain of scopes (declaration, terms,
/// principles), each of which the interpreter searched in turn for every name. The table hashes
/// with foldhash: its keys are the pack's own names, and SipHash (the standard library's
/// default, proof against hash flooding by untrusted keys) cost more than the lookup itself.
#[derive(Debug, Default, Clone)]
pub(crate) struct Variables<'v> {
    by_name: HashMap<&'v str, Box<dyn Val + 'v>, foldhash::fast::FixedState>,
}

impl<'v> Variables<'v> {
    /// Binds `name`, replacing an earlier value of that name.
    pub(crate) fn insert(&mut self, name: &'v str, value: Box<dyn Val + 'v>) {
        self.by_name.insert(name, value);
    }
}

impl VariableResolver for Variables<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let (name, path) = split_path(variable);
        select(self.by_name.get(name)?.as_ref(), path)
    }
}

/// `outputs.final` as `outputs` and `final`; `outputs` as itself and nothing.
fn split_path(variable: &str) -> (&str, &str) {
    match variable.bytes().position(|b| b == b'.') {
        Some(dot) => (&variable[..dot], &variable[dot + 1..]),
        None => (variable, ""),
    }
}

/// The value at `path` (`a.b`, or nothing) under `value`, when every step finds a field.
///
/// The interpreter first asks for a dotted name as a whole (`item.kind`, in case a variable is
/// named so) and only then for its head, selecting the rest itself, scope after scope. Answering
/// the whole name at once, with the value that selecting gives, spares those second rounds; a
/// missing field answers nothing, so that the interpreter's own resolution reports it.
fn select<'b>(value: &'b (dyn Val + 'b), path: &str) -> Option<CowVal<'b, 'b>> {
    let mut current = value;
    if path.is_empty() {
        return Some(CowVal::Borrowed(current));
    }
    let mut rest = path;
    loop {
        let (segment, more) = split_path(rest);
        let found = current.as_indexer()?.get(&CelString::from(segment)).ok()?;
        match found {
            CowVal::Borrowed(next) => current = next,
            // A computed field (none of ours are) is returned only at the end of the path.
            owned @ CowVal::Owned(_) => return more.is_empty().then_some(owned),
        }
        if more.is_empty() {
            return Some(CowVal::Borrowed(current));
        }
        rest = more;
    }
}

/// `item` and `index`: the element a `for_each` scope is about, and its position.
///
/// Bound as the scope's resolver, they cost the scope no map of its own; the interpreter asks
/// the resolver before the scope's (then empty) variables.
#[derive(Debug)]
pub(crate) struct Item<'v> {
    item: Box<dyn Val + 'v>,
    index: CelInt,
}

impl<'v> Item<'v> {
    pub(crate) fn new(item: Box<dyn Val + 'v>, index: i64) -> Self {
        Item {
            item,
            index: CelInt::from(index),
        }
    }
}

impl VariableResolver for Item<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        match split_path(variable) {
            ("item", path) => select(self.item.as_ref(), path),
            ("index", "") => Some(CowVal::Borrowed(&self.index)),
            _ => None,
        }
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

type Owned = Box<dyn Val + 'static>;

/// Serializes a value straight into CEL values, lists and maps [`Shared`], as `serde_json`
/// would write it (unit variants as their names, `None` as null, fields skipped as the type's
/// serde attributes say).
///
/// The `cel` crate's own serializer builds `cel::Value` trees, which must then be copied into
/// `Val`s; going through `serde_json::Value` costs the same copy. Writing the values directly
/// halves the cost of preparing a declaration for evaluation.
struct CelSerializer;

/// A list or struct-like value being serialized.
struct Seq(Vec<Owned>);

/// A map being serialized: its entries and the key waiting for its value.
struct Map {
    entries: Vec<(Cow<'static, str>, Owned)>,
    key: Option<String>,
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
    type SerializeTupleVariant = serde::ser::Impossible<Owned, ToCelError>;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = serde::ser::Impossible<Owned, ToCelError>;

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
        let entries = vec![(Cow::Borrowed(variant), value.serialize(self)?)];
        Ok(Box::new(Shared::new(Record::new(entries))))
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
    ) -> Result<Self::SerializeTupleVariant, ToCelError> {
        Err(ToCelError(format!(
            "variant {variant}: tuple variants have no CEL form"
        )))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map, ToCelError> {
        Ok(Map {
            entries: Vec::with_capacity(len.unwrap_or(0)),
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
    ) -> Result<Self::SerializeStructVariant, ToCelError> {
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

/// `SerializeSeq`, `SerializeTuple` and `SerializeTupleStruct` for [`Seq`]: each element is
/// pushed, and the list finished, the same way.
macro_rules! seq_impl {
    ($($trait:ident::$method:ident),*) => {
        $(impl serde::ser::$trait for Seq {
            type Ok = Owned;
            type Error = ToCelError;
            fn $method<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToCelError> {
                self.push(v)
            }
            fn end(self) -> Result<Owned, ToCelError> {
                self.finish()
            }
        })*
    };
}

seq_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl Map {
    fn finish(self) -> Result<Owned, ToCelError> {
        Ok(Box::new(Shared::new(Record::new(self.entries))))
    }
}

impl serde::ser::SerializeMap for Map {
    type Ok = Owned;
    type Error = ToCelError;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ToCelError> {
        let key = key.serialize(CelSerializer)?;
        match key.downcast_ref::<CelString>() {
            Some(s) => {
                self.key = Some(s.inner().to_owned());
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
        // A map serialized by serde has distinct keys, as a record's must be.
        self.entries
            .push((Cow::Owned(key), value.serialize(CelSerializer)?));
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
            .push((Cow::Borrowed(key), value.serialize(CelSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Owned, ToCelError> {
        self.finish()
    }
}

/// Any serializable value as a CEL value, as `serde_json` would write it.
pub(crate) fn to_val<T: serde::Serialize + ?Sized>(value: &T) -> Result<Owned, ToCelError> {
    value.serialize(CelSerializer)
}

/// The fields of a struct, by name, each serialized by [`CelSerializer`].
pub(crate) fn fields_of<T: serde::Serialize>(
    value: &T,
) -> Result<Vec<(&'static str, Owned)>, ToCelError> {
    value.serialize(StructFields)
}

/// Serializes a struct into its fields, each with [`CelSerializer`]: the top level of a
/// declaration, whose fields are bound as variables one by one (so no map of them is built).
struct StructFields;

/// The fields collected so far.
struct FieldList(Vec<(&'static str, Owned)>);

fn expected_struct() -> ToCelError {
    ToCelError("expected a struct".into())
}

/// `fn serialize_x(self, _: T) -> Err(expected_struct())` for every serializer method of a
/// value that is not a struct.
macro_rules! not_a_struct {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, ToCelError> {
            Err(expected_struct())
        })*
    };
}

type Never = serde::ser::Impossible<Vec<(&'static str, Owned)>, ToCelError>;

impl serde::Serializer for StructFields {
    type Ok = Vec<(&'static str, Owned)>;
    type Error = ToCelError;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = FieldList;
    type SerializeStructVariant = Never;

    not_a_struct! {
        serialize_bool(bool) -> Self::Ok;
        serialize_i8(i8) -> Self::Ok;
        serialize_i16(i16) -> Self::Ok;
        serialize_i32(i32) -> Self::Ok;
        serialize_i64(i64) -> Self::Ok;
        serialize_u8(u8) -> Self::Ok;
        serialize_u16(u16) -> Self::Ok;
        serialize_u32(u32) -> Self::Ok;
        serialize_u64(u64) -> Self::Ok;
        serialize_f32(f32) -> Self::Ok;
        serialize_f64(f64) -> Self::Ok;
        serialize_char(char) -> Self::Ok;
        serialize_str(&str) -> Self::Ok;
        serialize_bytes(&[u8]) -> Self::Ok;
        serialize_none() -> Self::Ok;
        serialize_unit() -> Self::Ok;
        serialize_unit_struct(&'static str) -> Self::Ok;
        serialize_unit_variant(&'static str, u32, &'static str) -> Self::Ok;
        serialize_seq(Option<usize>) -> Never;
        serialize_tuple(usize) -> Never;
        serialize_tuple_struct(&'static str, usize) -> Never;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Never;
        serialize_map(Option<usize>) -> Never;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Never;
    }

    fn serialize_some<V: serde::Serialize + ?Sized>(self, _: &V) -> Result<Self::Ok, ToCelError> {
        Err(expected_struct())
    }

    fn serialize_newtype_struct<V: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<Self::Ok, ToCelError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<V: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<Self::Ok, ToCelError> {
        Err(expected_struct())
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<FieldList, ToCelError> {
        Ok(FieldList(Vec::with_capacity(len)))
    }
}

impl serde::ser::SerializeStruct for FieldList {
    type Ok = Vec<(&'static str, Owned)>;
    type Error = ToCelError;
    fn serialize_field<V: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), ToCelError> {
        self.0.push((key, value.serialize(CelSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Self::Ok, ToCelError> {
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    //! Every expression gives the same result (value or error) over the evaluator's values
    //! ([`Record`], [`Shared`], the [`Variables`] and [`Item`] resolvers) as over the same data
    //! bound the crate's own way (`cel::to_value`, `Context::add_variable_from_value`).

    use super::*;
    use cel::{Context, Value};

    #[derive(serde::Serialize)]
    struct Inner {
        flag: bool,
        n: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[derive(serde::Serialize)]
    struct Fixture {
        name: String,
        tags: Vec<String>,
        inner: Inner,
        people: Vec<Inner>,
        scores: std::collections::BTreeMap<String, i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        missing: Option<String>,
    }

    #[derive(serde::Serialize)]
    struct Root {
        x: Fixture,
    }

    fn fixture() -> Root {
        let inner = |flag, n, note: Option<&str>| Inner {
            flag,
            n,
            note: note.map(str::to_owned),
        };
        Root {
            x: Fixture {
                name: "Harbour".into(),
                tags: vec!["a".into(), "b".into()],
                inner: inner(true, 3, None),
                people: vec![inner(false, 1, Some("n")), inner(true, 3, None)],
                scores: [("p1".to_owned(), 2), ("p2".to_owned(), 5)]
                    .into_iter()
                    .collect(),
                missing: None,
            },
        }
    }

    const EXPRESSIONS: &[&str] = &[
        "x.name",
        "x.inner.flag",
        "x.inner.n + 1",
        "x.inner.note",
        "x.inner.nope.deeper",
        "has(x.missing)",
        "has(x.inner.note)",
        "has(x.people[0].note)",
        "x.missing",
        "'flag' in x.inner",
        "'nope' in x.inner",
        "1 in x.inner",
        "size(x.inner)",
        "x.inner.size()",
        "x.inner == {'flag': true, 'n': 3}",
        "{'flag': true, 'n': 3} == x.inner",
        "x.inner != {'flag': false, 'n': 3}",
        "x.people.exists(p, p.flag && p.n == 3)",
        "x.people.map(p, p.n)",
        "x.people[1] == x.inner",
        "x.inner in x.people",
        "x.people.filter(p, p.n > 1).size()",
        "x.inner.all(k, k in ['flag', 'n'])",
        "x.inner[1]",
        "x.inner['n']",
        "x['name']",
        "type(x.inner) == map",
        "type(x.people) == list",
        "x.tags + ['z']",
        "x.tags[1]",
        "'b' in x.tags",
        "dyn(x.inner).n",
        "[x.inner, x.inner][1].n",
        "{'k': x.inner}.k.n",
        "x == x",
        "x.people[5]",
        "x.scores.p2",
        "x.scores['p1'] + x.scores.p2",
        "'p1' in x.scores && !('p3' in x.scores)",
        "x.scores.all(k, x.scores[k] > 1)",
        "string(x.inner.n) + x.name",
        "x.inner",
        "x.people",
    ];

    fn reference(expr: &str) -> String {
        let env = Arc::clone(crate::pack::env());
        let program = env.compile(expr).expect("compiles");
        let mut ctx = Context::with_env(env);
        let value = cel::to_value(&fixture().x).expect("converts");
        ctx.add_variable_from_value("x", value.clone());
        ctx.add_variable_from_value("item", value);
        ctx.add_variable_from_value("index", Value::Int(4));
        canonical(program.execute(&ctx))
    }

    /// Maps iterate in no fixed order: compare them sorted.
    fn canonical(result: Result<Value, cel::ExecutionError>) -> String {
        match result {
            Ok(Value::Map(m)) => {
                let mut entries: Vec<String> =
                    m.map.iter().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
                entries.sort();
                format!("map {entries:?}")
            }
            Ok(Value::List(items)) => {
                let items: Vec<String> = items.iter().map(|v| canonical(Ok(v.clone()))).collect();
                format!("list {items:?}")
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn the_evaluator_values_behave_as_the_crate_values() {
        let fields = fields_of(&fixture()).expect("converts");
        let mut vars = Variables::default();
        for (name, value) in &fields {
            vars.insert(name, value.clone());
        }
        let root = {
            let mut ctx = Context::with_env(Arc::clone(crate::pack::env()));
            ctx.set_variable_resolver(&vars);
            ctx
        };
        let x = vars.by_name.get("x").expect("bound").clone();
        let item = Item::new(x, 4);
        let mut scope = root.new_inner_scope();
        scope.set_variable_resolver(&item);
        for expr in EXPRESSIONS {
            let program = crate::pack::env().compile(expr).expect("compiles");
            let ours = canonical(program.execute(&root));
            assert_eq!(ours, reference(expr), "{expr}");
            // The same through `item` and `index` of a `for_each` scope.
            let as_item = expr.replace('x', "item");
            let program = crate::pack::env().compile(&as_item).expect("compiles");
            assert_eq!(
                canonical(program.execute(&scope)),
                reference(&as_item),
                "{as_item}"
            );
        }
        let index = crate::pack::env().compile("index * 2").expect("compiles");
        assert_eq!(index.execute(&scope), Ok(Value::Int(8)));
    }

    #[test]
    fn a_dotted_name_resolves_to_what_selecting_gives() {
        let fields = fields_of(&fixture()).expect("converts");
        let mut vars = Variables::default();
        for (name, value) in &fields {
            vars.insert(name, value.clone());
        }
        let n = vars.resolve("x.inner.n").expect("found");
        assert_eq!(n.downcast_ref::<CelInt>().map(|i| *i.inner()), Some(3));
        assert!(vars.resolve("x.inner.nope").is_none());
        assert!(vars.resolve("x.name.length").is_none());
        assert!(vars.resolve("y").is_none());
    }
}
