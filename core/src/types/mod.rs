//! The values a key can hold. Each Redis type has its own module; [`Value`] is the enum the keyspace
//! stores. (Collections arrive with later work: lists, hashes, sets, sorted sets, streams.)

pub mod string;

use string::CompactStr;

/// A key's value.
#[derive(Clone, Debug)]
pub enum Value {
    Str(CompactStr),
}

const _: () = assert!(core::mem::size_of::<Value>() == 24);

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
        }
    }

    /// Heap bytes owned by the value beyond its 24-byte handle.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
        }
    }
}
