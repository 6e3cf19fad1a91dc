//! Python value -> MessagePack, driven by the node table (mirror of `core/lazer/pycodec.py`).

use std::os::raw::c_int;

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

use crate::config::code_range;
use crate::error::{fail, fail_owned, Res};
use crate::schema::Kind;
use crate::tables::Tables;
use crate::writer as w;

const INT64_MIN: i128 = i64::MIN as i128;
const UINT64_MAX: i128 = u64::MAX as i128;

/// The value of a Python int, or None outside [i64::MIN, u64::MAX] (nothing on the wire is wider).
pub fn long_value(v: &Bound<'_, PyAny>) -> Option<i128> {
    // SAFETY: `v` is a live int (callers check PyLong); errors are cleared before returning.
    unsafe {
        let mut overflow: c_int = 0;
        let x = ffi::PyLong_AsLongLongAndOverflow(v.as_ptr(), &mut overflow);
        if overflow == 0 {
            if x == -1 && !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            Some(x as i128)
        } else if overflow > 0 {
            let u = ffi::PyLong_AsUnsignedLongLong(v.as_ptr());
            if u == u64::MAX && !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            Some(u as i128)
        } else {
            None
        }
    }
}

/// Whether `v`'s type is exactly the class at `cls`.
#[inline]
pub fn is_type(v: &Bound<'_, PyAny>, cls: *mut ffi::PyObject) -> bool {
    std::ptr::eq(v.get_type_ptr().cast::<ffi::PyObject>(), cls)
}

#[inline]
fn is_int(v: &Bound<'_, PyAny>) -> bool {
    v.is_instance_of::<PyInt>() && !v.is_exact_instance_of::<PyBool>()
}

fn type_error<T>(expected: &str, v: &Bound<'_, PyAny>) -> Res<T> {
    let name = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    fail_owned(format!("expected {expected}, got {name}"))
}

/// A number as f64: floats (and subclasses) and ints, never bools.
fn as_f64(v: &Bound<'_, PyAny>) -> Res<f64> {
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if is_int(v) {
        return Ok(v.extract::<f64>()?);
    }
    type_error("float", v)
}

fn write_f32(out: &mut Vec<u8>, x: f64) -> Res<()> {
    let y = x as f32;
    // Same rule as Python's struct.pack("f"): finite values that round to infinity fail.
    if y.is_infinite() && !x.is_infinite() {
        return fail("float too large to pack with f format");
    }
    w::f32(out, y);
    Ok(())
}

pub struct Enc<'a> {
    pub t: &'a Tables,
    pub out: Vec<u8>,
}

impl<'a> Enc<'a> {
    pub fn new(t: &'a Tables) -> Self {
        Enc {
            t,
            out: Vec::with_capacity(256),
        }
    }

    pub fn value(&mut self, node: usize, v: &Bound<'_, PyAny>) -> Res<()> {
        let n = &self.t.nodes[node];
        if n.nullable && v.is_none() {
            w::nil(&mut self.out);
            return Ok(());
        }
        match &n.kind {
            Kind::Int { lo, hi } | Kind::Enum { lo, hi, .. } => {
                if !is_int(v) {
                    return type_error("int", v);
                }
                match long_value(v) {
                    Some(x) if x >= *lo && x <= *hi => w::int(&mut self.out, x),
                    _ => return fail_owned(format!("integer {v} outside [{lo}, {hi}]")),
                }
            }
            Kind::F64 => {
                let x = as_f64(v)?;
                w::f64(&mut self.out, x);
            }
            Kind::F32 => {
                let x = as_f64(v)?;
                write_f32(&mut self.out, x)?;
            }
            Kind::Bool => {
                if !v.is_exact_instance_of::<PyBool>() {
                    return type_error("bool", v);
                }
                w::bool(&mut self.out, v.is_truthy()?);
            }
            Kind::Str => match v.cast::<PyString>() {
                Ok(s) => w::str(&mut self.out, s.to_str()?)?,
                Err(_) => return type_error("str", v),
            },
            Kind::TimeSpan => self.timespan(v)?,
            Kind::Dto => self.dto(v)?,
            Kind::Settings => self.settings(v)?,
            Kind::List(item) => self.sequence(*item, v)?,
            Kind::Map(k, val) => {
                let Ok(d) = v.cast::<PyDict>() else {
                    return type_error("dict", v);
                };
                w::map_header(&mut self.out, d.len())?;
                for (key, value) in d.iter() {
                    self.value(*k, &key)?;
                    self.value(*val, &value)?;
                }
            }
            Kind::Tuple(items) => {
                let len_ok = match (v.cast::<PyTuple>(), v.cast::<PyList>()) {
                    (Ok(t), _) => t.len() == items.len(),
                    (_, Ok(l)) => l.len() == items.len(),
                    _ => false,
                };
                if !len_ok {
                    return fail_owned(format!("expected a {}-tuple", items.len()));
                }
                w::array_header(&mut self.out, items.len())?;
                for (i, id) in items.iter().enumerate() {
                    self.value(*id, &v.get_item(i)?)?;
                }
            }
            Kind::Object {
                cls, slots, header, ..
            } => {
                let cls = cls.bind(v.py());
                if !is_type(v, cls.as_ptr()) && !v.is_instance(cls)? {
                    return type_error("a hub object of the declared class", v);
                }
                self.out.extend_from_slice(header);
                for slot in slots {
                    match slot {
                        None => w::nil(&mut self.out),
                        Some(s) => {
                            let field = v.getattr(s.name.bind(v.py()))?;
                            self.value(s.node, &field)?;
                        }
                    }
                }
            }
            Kind::Union(cases) => {
                let ty = v.get_type_ptr() as usize;
                let Some(case) = cases.iter().find(|c| c.cls.as_ptr() as usize == ty) else {
                    return type_error("a member of the declared union", v);
                };
                self.out.extend_from_slice(&case.prefix);
                self.value(case.node, v)?;
            }
            Kind::Any => self.any(v, 0)?,
        }
        Ok(())
    }

    fn sequence(&mut self, item: usize, v: &Bound<'_, PyAny>) -> Res<()> {
        if let Ok(l) = v.cast::<PyList>() {
            w::array_header(&mut self.out, l.len())?;
            for x in l.iter() {
                self.value(item, &x)?;
            }
        } else if let Ok(t) = v.cast::<PyTuple>() {
            w::array_header(&mut self.out, t.len())?;
            for x in t.iter() {
                self.value(item, &x)?;
            }
        } else {
            return type_error("list", v);
        }
        Ok(())
    }

    fn timespan(&mut self, v: &Bound<'_, PyAny>) -> Res<()> {
        let ticks: i64 = self
            .t
            .cfg
            .timespan_to_ticks
            .bind(v.py())
            .call1((v,))?
            .extract()?;
        w::int(&mut self.out, ticks as i128);
        Ok(())
    }

    fn dto(&mut self, v: &Bound<'_, PyAny>) -> Res<()> {
        let (seconds, nanos, minutes): (i64, u32, i64) =
            self.t.cfg.dto_to_wire.bind(v.py()).call1((v,))?.extract()?;
        self.out.push(0x92);
        w::timestamp(&mut self.out, seconds, nanos);
        w::int(&mut self.out, minutes as i128);
        Ok(())
    }

    /// APIMod settings (ModSettingsDictionaryFormatter): array header N, then N name/value pairs.
    fn settings(&mut self, v: &Bound<'_, PyAny>) -> Res<()> {
        let Ok(d) = v.cast::<PyDict>() else {
            return type_error("dict of mod settings", v);
        };
        w::array_header(&mut self.out, d.len())?;
        for (name, value) in d.iter() {
            match name.cast::<PyString>() {
                Ok(s) => w::str(&mut self.out, s.to_str()?)?,
                Err(_) => return type_error("str setting name", &name),
            }
            self.setting(&value)?;
        }
        Ok(())
    }

    /// One setting value with PrimitiveObjectFormatter's fixed-width codes.
    fn setting(&mut self, v: &Bound<'_, PyAny>) -> Res<()> {
        let out = &mut self.out;
        if v.is_none() {
            w::nil(out);
            return Ok(());
        }
        if v.is_exact_instance_of::<PyBool>() {
            w::bool(out, v.is_truthy()?);
            return Ok(());
        }
        let ty = v.get_type_ptr() as usize;
        let cfg = &self.t.cfg;
        if let Some(m) = cfg.markers.iter().find(|m| m.cls.as_ptr() as usize == ty) {
            let (lo, hi) = code_range(m.code).unwrap_or((0, -1));
            match long_value(v) {
                Some(x) if x >= lo && x <= hi => write_fixed(out, m.code, x),
                _ => return fail_owned(format!("mod setting out of range: {v}")),
            }
        } else if is_int(v) {
            match long_value(v) {
                Some(x) if x >= i32::MIN as i128 && x <= i32::MAX as i128 => {
                    write_fixed(out, 0xd2, x)
                }
                Some(x) if x >= INT64_MIN && x <= i64::MAX as i128 => write_fixed(out, 0xd3, x),
                _ => return fail_owned(format!("int setting out of range: {v} (use UInt64)")),
            }
        } else if ty == cfg.float32.as_ptr() as usize {
            write_f32(out, as_f64(v)?)?;
        } else if let Ok(f) = v.cast::<PyFloat>() {
            w::f64(out, f.value());
        } else if let Ok(s) = v.cast::<PyString>() {
            w::str(out, s.to_str()?)?;
        } else {
            return type_error("a primitive mod setting value", v);
        }
        Ok(())
    }

    /// A value typed at run time (Completion results, stream items, unknown targets).
    pub fn any(&mut self, v: &Bound<'_, PyAny>, depth: usize) -> Res<()> {
        if v.is_none() {
            w::nil(&mut self.out);
            return Ok(());
        }
        if v.is_exact_instance_of::<PyBool>() {
            w::bool(&mut self.out, v.is_truthy()?);
            return Ok(());
        }
        let ty = v.get_type_ptr() as usize;
        if let Some(&node) = self.t.runtime.get(&ty) {
            return self.value(node, v);
        }
        let py = v.py();
        let cfg = &self.t.cfg;
        if v.is_instance_of::<PyInt>() {
            match long_value(v) {
                Some(x) if (INT64_MIN..=UINT64_MAX).contains(&x) => w::int(&mut self.out, x),
                _ => return fail_owned(format!("integer out of range: {v}")),
            }
        } else if let Ok(f) = v.cast::<PyFloat>() {
            w::f64(&mut self.out, f.value());
        } else if let Ok(s) = v.cast::<PyString>() {
            w::str(&mut self.out, s.to_str()?)?;
        } else if let Ok(b) = v.cast::<PyBytes>() {
            w::bin(&mut self.out, b.as_bytes())?;
        } else if let Ok(b) = v.cast::<PyByteArray>() {
            let data = b.to_vec();
            w::bin(&mut self.out, &data)?;
        } else if ty == cfg.ext.as_ptr() as usize {
            self.ext(v)?;
        } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
            if depth >= cfg.max_depth {
                return fail("nesting too deep");
            }
            let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = v.cast::<PyList>() {
                l.iter().collect()
            } else {
                v.cast::<PyTuple>().map_err(PyErr::from)?.iter().collect()
            };
            w::array_header(&mut self.out, items.len())?;
            for item in &items {
                self.any(item, depth + 1)?;
            }
        } else if let Ok(d) = v.cast::<PyDict>() {
            if depth >= cfg.max_depth {
                return fail("nesting too deep");
            }
            w::map_header(&mut self.out, d.len())?;
            for (k, item) in d.iter() {
                self.any(&k, depth + 1)?;
                self.any(&item, depth + 1)?;
            }
        } else if v.is_instance(cfg.datetime.bind(py))? {
            self.dto(v)?;
        } else if v.is_instance(cfg.timedelta.bind(py))? {
            self.timespan(v)?;
        } else {
            return type_error("a MessagePack-encodable value", v);
        }
        Ok(())
    }

    fn ext(&mut self, v: &Bound<'_, PyAny>) -> Res<()> {
        let code = v.getattr(intern!(v.py(), "code"))?;
        let data = v.getattr(intern!(v.py(), "data"))?;
        let code = match (code.is_instance_of::<PyInt>(), long_value(&code)) {
            (true, Some(c)) if (-128..=127).contains(&c) => c as i8,
            _ => return fail("extension code must be an int8"),
        };
        let bytes: Vec<u8> = if let Ok(b) = data.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(b) = data.cast::<PyByteArray>() {
            b.to_vec()
        } else {
            return fail("extension data must be bytes");
        };
        w::ext(&mut self.out, code, &bytes)
    }
}

fn write_fixed(out: &mut Vec<u8>, code: u8, x: i128) {
    out.push(code);
    match code {
        0xd0 => out.push(x as i8 as u8),
        0xd1 => out.extend_from_slice(&(x as i16).to_be_bytes()),
        0xd2 => out.extend_from_slice(&(x as i32).to_be_bytes()),
        0xd3 => out.extend_from_slice(&(x as i64).to_be_bytes()),
        0xcc => out.push(x as u8),
        0xcd => out.extend_from_slice(&(x as u16).to_be_bytes()),
        0xce => out.extend_from_slice(&(x as u32).to_be_bytes()),
        _ => out.extend_from_slice(&(x as u64).to_be_bytes()),
    }
}
