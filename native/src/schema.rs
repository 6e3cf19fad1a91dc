//! The compiled schema handed over by `core/lazer/native.py`: node table (see
//! `core/lazer/schema.py` for the tuple layout), method table and runtime type table.
//! Nothing here knows osu! types: adding one is a Python-only change.

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

pub const K_ANY: u8 = 0;
pub const K_INT: u8 = 1;
pub const K_ENUM: u8 = 2;
pub const K_F32: u8 = 3;
pub const K_F64: u8 = 4;
pub const K_BOOL: u8 = 5;
pub const K_STR: u8 = 6;
pub const K_TIMESPAN: u8 = 7;
pub const K_DTO: u8 = 8;
pub const K_SETTINGS: u8 = 9;
pub const K_LIST: u8 = 10;
pub const K_MAP: u8 = 11;
pub const K_TUPLE: u8 = 12;
pub const K_OBJECT: u8 = 13;
pub const K_UNION: u8 = 14;

pub struct Slot {
    pub name: Py<PyString>,
    pub node: usize,
}

pub struct Case {
    pub key: i128,
    pub cls: Py<PyAny>,
    pub node: usize,
    /// `[key,` already encoded: array header 2 and the compact key.
    pub prefix: Vec<u8>,
}

pub enum Kind {
    Any,
    Int {
        lo: i128,
        hi: i128,
    },
    Enum {
        lo: i128,
        hi: i128,
        members: Py<PyDict>,
    },
    F32,
    F64,
    Bool,
    Str,
    TimeSpan,
    Dto,
    Settings,
    List(usize),
    Map(usize, usize),
    Tuple(Vec<usize>),
    Object {
        cls: Py<PyAny>,
        /// One entry per array index; None is a gap written as nil.
        slots: Vec<Option<Slot>>,
        header: Vec<u8>,
        /// Instances may be built without calling __init__ (it only stores the fields).
        plain: bool,
    },
    Union(Vec<Case>),
}

pub struct Node {
    pub kind: Kind,
    pub nullable: bool,
}

pub struct Method {
    /// The target name as a Python string, reused for every decoded Invocation.
    pub name: Py<PyString>,
    pub args: Vec<usize>,
}

fn bad(msg: String) -> PyErr {
    PyValueError::new_err(format!("invalid codec schema: {msg}"))
}

/// A child id must point backwards: the table is post-order, which also rules out cycles
/// (and so unbounded recursion) whatever Python hands us.
fn child(id: usize, index: usize) -> PyResult<usize> {
    if id < index {
        Ok(id)
    } else {
        Err(bad(format!("node {index} refers forward to {id}")))
    }
}

fn parse_node(py: Python<'_>, index: usize, t: &Bound<'_, PyTuple>) -> PyResult<Node> {
    if t.len() != 5 {
        return Err(bad(format!("node {index} is not a 5-tuple")));
    }
    let kind: u8 = t.get_item(0)?.extract()?;
    let nullable: bool = t.get_item(1)?.extract()?;
    let a = t.get_item(2)?;
    let b = t.get_item(3)?;
    let c = t.get_item(4)?;
    let kind = match kind {
        K_ANY => Kind::Any,
        K_INT => Kind::Int {
            lo: a.extract()?,
            hi: b.extract()?,
        },
        K_ENUM => Kind::Enum {
            lo: a.extract()?,
            hi: b.extract()?,
            members: c.cast::<PyDict>()?.clone().unbind(),
        },
        K_F32 => Kind::F32,
        K_F64 => Kind::F64,
        K_BOOL => Kind::Bool,
        K_STR => Kind::Str,
        K_TIMESPAN => Kind::TimeSpan,
        K_DTO => Kind::Dto,
        K_SETTINGS => Kind::Settings,
        K_LIST => Kind::List(child(a.extract()?, index)?),
        K_MAP => Kind::Map(child(a.extract()?, index)?, child(b.extract()?, index)?),
        K_TUPLE => {
            let mut ids = Vec::new();
            for item in a.cast::<PyTuple>()?.iter() {
                ids.push(child(item.extract()?, index)?);
            }
            Kind::Tuple(ids)
        }
        K_OBJECT => {
            let mut slots: Vec<Option<Slot>> = Vec::new();
            for field in b.cast::<PyTuple>()?.iter() {
                let (at, name, node): (usize, Bound<'_, PyString>, usize) = field.extract()?;
                if at < slots.len() {
                    return Err(bad(format!("node {index}: keys out of order")));
                }
                slots.resize_with(at, || None);
                let name = PyString::intern(py, name.to_str()?).unbind();
                slots.push(Some(Slot {
                    name,
                    node: child(node, index)?,
                }));
            }
            let mut header = Vec::new();
            crate::writer::array_header(&mut header, slots.len())
                .map_err(|_| bad("object too large".into()))?;
            let plain = c.extract::<bool>().unwrap_or(false);
            Kind::Object {
                cls: a.clone().unbind(),
                slots,
                header,
                plain,
            }
        }
        K_UNION => {
            let mut cases = Vec::new();
            for case in a.cast::<PyTuple>()?.iter() {
                let (key, cls, node): (i128, Bound<'_, PyAny>, usize) = case.extract()?;
                let mut prefix = vec![0x92];
                crate::writer::int(&mut prefix, key);
                cases.push(Case {
                    key,
                    cls: cls.unbind(),
                    node: child(node, index)?,
                    prefix,
                });
            }
            Kind::Union(cases)
        }
        other => return Err(bad(format!("node {index} has unknown kind {other}"))),
    };
    Ok(Node { kind, nullable })
}

pub fn parse_nodes(py: Python<'_>, nodes: &Bound<'_, PyList>) -> PyResult<Vec<Node>> {
    let mut out = Vec::with_capacity(nodes.len());
    for (index, item) in nodes.iter().enumerate() {
        out.push(parse_node(py, index, item.cast::<PyTuple>()?)?);
    }
    Ok(out)
}

fn node_id(id: usize, count: usize) -> PyResult<usize> {
    if id < count {
        Ok(id)
    } else {
        Err(bad(format!("node id {id} out of range")))
    }
}

pub fn parse_methods(
    methods: &Bound<'_, PyDict>,
    count: usize,
) -> PyResult<HashMap<String, Method>> {
    let mut out = HashMap::with_capacity(methods.len());
    for (name, args) in methods.iter() {
        let name = name.cast::<PyString>()?.clone();
        let mut ids = Vec::new();
        for arg in args.cast::<PyTuple>()?.iter() {
            ids.push(node_id(arg.extract()?, count)?);
        }
        out.insert(
            name.to_str()?.to_owned(),
            Method {
                name: name.unbind(),
                args: ids,
            },
        );
    }
    Ok(out)
}

/// type address -> node, and the classes whose addresses those are (kept alive alongside).
pub type Runtime = (HashMap<usize, usize>, Vec<Py<PyAny>>);

/// class -> node, keyed by the type object's address.
pub fn parse_runtime(runtime: &Bound<'_, PyDict>, count: usize) -> PyResult<Runtime> {
    let mut map = HashMap::with_capacity(runtime.len());
    let mut keep = Vec::with_capacity(runtime.len());
    for (cls, id) in runtime.iter() {
        map.insert(cls.as_ptr() as usize, node_id(id.extract()?, count)?);
        keep.push(cls.unbind());
    }
    Ok((map, keep))
}

pub fn check_node(id: usize, count: usize) -> PyResult<usize> {
    node_id(id, count)
}
