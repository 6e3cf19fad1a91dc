//! MessagePack -> Python values, driven by the node table (mirror of `core/lazer/pycodec.py`).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple, PyType};

use crate::error::{fail, fail_owned, Error, Res};
use crate::reader::Reader;
use crate::schema::Kind;
use crate::tables::Tables;

pub fn py_int(py: Python<'_>, v: i128) -> Bound<'_, PyAny> {
    if let Ok(x) = i64::try_from(v) {
        let Ok(obj) = x.into_pyobject(py);
        obj.into_any()
    } else {
        // Only uint64 values above i64::MAX get here: the reader yields nothing wider.
        let Ok(obj) = (v as u64).into_pyobject(py);
        obj.into_any()
    }
}

pub struct Dec<'a, 'py> {
    pub py: Python<'py>,
    pub t: &'a Tables,
    pub r: Reader<'a>,
}

impl<'a, 'py> Dec<'a, 'py> {
    pub fn new(py: Python<'py>, t: &'a Tables, data: &'a [u8]) -> Self {
        Dec {
            py,
            t,
            r: Reader::new(data),
        }
    }

    fn none(&self) -> Bound<'py, PyAny> {
        self.py.None().into_bound(self.py)
    }

    pub fn value(&mut self, node: usize) -> Res<Bound<'py, PyAny>> {
        let py = self.py;
        let n = &self.t.nodes[node];
        if n.nullable && self.r.peek()? == 0xc0 {
            self.r.p += 1;
            return Ok(self.none());
        }
        Ok(match &n.kind {
            Kind::Int { lo, hi } => {
                let x = self.r.int()?;
                check_range(x, *lo, *hi)?;
                py_int(py, x)
            }
            Kind::Enum { lo, hi, members } => {
                let x = self.r.int()?;
                check_range(x, *lo, *hi)?;
                let value = py_int(py, x);
                // Unknown values stay plain ints: newer clients may know more members.
                match members.bind(py).get_item(&value)? {
                    Some(member) => member,
                    None => value,
                }
            }
            Kind::F32 | Kind::F64 => PyFloat::new(py, self.r.float()?).into_any(),
            Kind::Bool => PyBool::new(py, self.r.bool()?).to_owned().into_any(),
            Kind::Str => PyString::new(py, self.r.str()?).into_any(),
            Kind::TimeSpan => self.timespan()?,
            Kind::Dto => self.dto()?,
            Kind::Settings => self.settings()?,
            Kind::List(item) => {
                let count = self.r.array_header()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(*item)?);
                }
                PyList::new(py, items)?.into_any()
            }
            Kind::Map(k, v) => {
                let count = self.r.map_header()?;
                let d = PyDict::new(py);
                for _ in 0..count {
                    let key = self.value(*k)?;
                    let value = self.value(*v)?;
                    d.set_item(key, value)?;
                }
                d.into_any()
            }
            Kind::Tuple(ids) => {
                let count = self.r.array_header()?;
                if count != ids.len() {
                    return fail_owned(format!(
                        "expected a {}-element array, got {count}",
                        ids.len()
                    ));
                }
                let mut items = Vec::with_capacity(count);
                for id in ids {
                    items.push(self.value(*id)?);
                }
                PyTuple::new(py, items)?.into_any()
            }
            Kind::Object {
                cls,
                slots,
                plain: true,
                ..
            } if self.complete(slots.len())? => {
                // Every member is present: allocate and store the fields directly, skipping
                // the Python-level dataclass __init__ (half the cost of decoding a frame).
                let count = self.r.array_header()?;
                let obj = new_instance(cls.bind(py))?;
                for i in 0..count {
                    match slots.get(i) {
                        Some(Some(slot)) => {
                            let value = self.value(slot.node)?;
                            obj.setattr(slot.name.bind(py), value)?;
                        }
                        _ => self.r.skip(0, self.t.cfg.max_depth)?,
                    }
                }
                obj
            }
            Kind::Object { cls, slots, .. } => {
                let count = self.r.array_header()?;
                let mut values = Vec::with_capacity(slots.len());
                for i in 0..count {
                    match slots.get(i) {
                        Some(Some(slot)) => values.push(self.value(slot.node)?),
                        // A gap, or a member this build does not know: skip it.
                        _ => self.r.skip(0, self.t.cfg.max_depth)?,
                    }
                }
                // Fields are in key order: present ones are a prefix, the rest keep defaults.
                cls.bind(py).call1(PyTuple::new(py, values)?)?
            }
            Kind::Union(cases) => {
                if self.r.array_header()? != 2 {
                    return fail("a union must be a [key, payload] array");
                }
                let key = self.r.int()?;
                match cases.iter().find(|c| c.key == key) {
                    Some(case) => self.value(case.node)?,
                    None => {
                        // Unknown member (newer client): null, payload skipped.
                        self.r.skip(0, self.t.cfg.max_depth)?;
                        self.none()
                    }
                }
            }
            Kind::Any => self.any(0)?,
        })
    }

    /// Whether the array at the cursor has at least `members` elements (cursor unchanged).
    fn complete(&self, members: usize) -> Res<bool> {
        let mut probe = Reader {
            d: self.r.d,
            p: self.r.p,
        };
        Ok(probe.array_header()? >= members)
    }

    fn timespan(&mut self) -> Res<Bound<'py, PyAny>> {
        let ticks = self.r.int()?;
        if i64::try_from(ticks).is_err() {
            return fail("TimeSpan ticks out of range");
        }
        Ok(self
            .t
            .cfg
            .timespan_from_ticks
            .bind(self.py)
            .call1((ticks as i64,))?)
    }

    fn dto(&mut self) -> Res<Bound<'py, PyAny>> {
        if self.r.array_header()? != 2 {
            return fail("DateTimeOffset must be a 2-element array");
        }
        let (seconds, nanos) = self.r.timestamp()?;
        let minutes = self.r.int()?;
        if i16::try_from(minutes).is_err() {
            return fail("DateTimeOffset offset is not an int16");
        }
        Ok(self
            .t
            .cfg
            .dto_from_wire
            .bind(self.py)
            .call1((seconds, nanos, minutes as i64))?)
    }

    /// APIMod settings (ModSettingsDictionaryFormatter): array header N, then N name/value pairs.
    fn settings(&mut self) -> Res<Bound<'py, PyAny>> {
        let count = self.r.array_header()?;
        if 2 * count > self.r.remaining() {
            return fail("settings count exceeds the input");
        }
        let d = PyDict::new(self.py);
        for _ in 0..count {
            let name = PyString::new(self.py, self.r.str()?);
            let value = self.setting()?;
            d.set_item(name, value)?;
        }
        Ok(d.into_any())
    }

    /// One setting value, wrapping non-default integer/float codes in their marker class.
    fn setting(&mut self) -> Res<Bound<'py, PyAny>> {
        let py = self.py;
        let b = self.r.peek()?;
        Ok(match b {
            0x00..=0x7f | 0xe0..=0xff | 0xd2 => py_int(py, self.r.int()?),
            0xcc..=0xcf | 0xd0 | 0xd1 | 0xd3 => {
                let value = py_int(py, self.r.int()?);
                match self.t.cfg.marker_for_code(b) {
                    Some(cls) => cls.bind(py).call1((value,))?,
                    None => value,
                }
            }
            0xcb => {
                self.r.p += 1;
                PyFloat::new(py, self.r.f64_bits()?).into_any()
            }
            0xca => {
                self.r.p += 1;
                let f = PyFloat::new(py, self.r.f32_bits()? as f64);
                self.t.cfg.float32.bind(py).call1((f,))?
            }
            0xc0 => {
                self.r.p += 1;
                self.none()
            }
            0xc2 | 0xc3 => PyBool::new(py, self.r.bool()?).to_owned().into_any(),
            _ if Reader::is_str(b) => PyString::new(py, self.r.str()?).into_any(),
            _ => {
                return fail_owned(format!(
                    "expected primitive mod setting value at offset {}, found 0x{b:02x}",
                    self.r.p
                ))
            }
        })
    }

    /// A value whose type is not declared: plain Python values, Ext for extensions.
    pub fn any(&mut self, depth: usize) -> Res<Bound<'py, PyAny>> {
        let py = self.py;
        let b = self.r.peek()?;
        let max_depth = self.t.cfg.max_depth;
        Ok(match b {
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => py_int(py, self.r.int()?),
            0xa0..=0xbf | 0xd9..=0xdb => PyString::new(py, self.r.str()?).into_any(),
            0xc0 => {
                self.r.p += 1;
                self.none()
            }
            0xc2 | 0xc3 => PyBool::new(py, self.r.bool()?).to_owned().into_any(),
            0xca | 0xcb => PyFloat::new(py, self.r.float()?).into_any(),
            0xc4..=0xc6 => {
                let n = self.r.bin_len()?;
                PyBytes::new(py, self.r.take(n)?).into_any()
            }
            0xc7..=0xc9 | 0xd4..=0xd8 => {
                let (code, n) = self.r.ext_header()?;
                let data = PyBytes::new(py, self.r.take(n)?);
                self.t.cfg.ext.bind(py).call1((code, data))?
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                if depth >= max_depth {
                    return fail("nesting too deep");
                }
                let count = self.r.array_header()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.any(depth + 1)?);
                }
                PyList::new(py, items)?.into_any()
            }
            0x80..=0x8f | 0xde | 0xdf => {
                if depth >= max_depth {
                    return fail("nesting too deep");
                }
                let count = self.r.map_header()?;
                let d = PyDict::new(py);
                for _ in 0..count {
                    let key = self.any(depth + 1)?;
                    let value = self.any(depth + 1)?;
                    if d.set_item(key, value).is_err() {
                        return fail("unhashable map key");
                    }
                }
                d.into_any()
            }
            _ => {
                return Err(Error::Codec(
                    format!(
                        "expected a MessagePack value at offset {}, found 0x{b:02x}",
                        self.r.p
                    )
                    .into(),
                ))
            }
        })
    }
}

/// `object.__new__(cls)`: an instance with no field set yet.
fn new_instance<'py>(cls: &Bound<'py, PyAny>) -> Res<Bound<'py, PyAny>> {
    let py = cls.py();
    let Ok(ty) = cls.cast::<PyType>() else {
        return fail("hub object class is not a type");
    };
    let empty = PyTuple::empty(py);
    // SAFETY: `ty` is a live type object and `empty` a tuple; GenericNew returns a new
    // reference or NULL with an exception set, which assume_owned_or_err turns into PyErr.
    unsafe {
        let obj = ffi::PyType_GenericNew(ty.as_type_ptr(), empty.as_ptr(), std::ptr::null_mut());
        Ok(Bound::from_owned_ptr_or_err(py, obj)?)
    }
}

fn check_range(x: i128, lo: i128, hi: i128) -> Res<()> {
    if x < lo || x > hi {
        return fail_owned(format!("integer {x} outside [{lo}, {hi}]"));
    }
    Ok(())
}
