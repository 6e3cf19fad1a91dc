//! The Python classes and converters the codec needs to build and read values. Passing them
//! in (instead of re-implementing datetime or dataclass logic in Rust) keeps every rule about
//! Python values in one place, `core/lazer/values.py`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

pub struct Marker {
    pub cls: Py<PyAny>,
    pub code: u8,
}

pub struct Messages {
    pub invocation: Py<PyAny>,
    pub stream_invocation: Py<PyAny>,
    pub stream_item: Py<PyAny>,
    pub completion: Py<PyAny>,
    pub cancel_invocation: Py<PyAny>,
    pub ping: Py<PyAny>,
    pub close: Py<PyAny>,
    pub ack: Py<PyAny>,
    pub sequence: Py<PyAny>,
    pub binding_failure: Py<PyAny>,
}

pub struct Config {
    pub codec_error: Py<PyType>,
    pub void: Py<PyAny>,
    pub ext: Py<PyAny>,
    pub float32: Py<PyAny>,
    pub markers: Vec<Marker>,
    pub dto_to_wire: Py<PyAny>,
    pub dto_from_wire: Py<PyAny>,
    pub timespan_to_ticks: Py<PyAny>,
    pub timespan_from_ticks: Py<PyAny>,
    pub datetime: Py<PyAny>,
    pub timedelta: Py<PyAny>,
    pub max_depth: usize,
    pub msg: Messages,
}

fn get<'py>(cfg: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    cfg.get_item(key)?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(format!("codec config lacks {key}")))
}

fn obj(cfg: &Bound<'_, PyDict>, key: &str) -> PyResult<Py<PyAny>> {
    Ok(get(cfg, key)?.unbind())
}

/// Value range of a fixed-width integer code (APIMod settings, ModSettingsDictionaryFormatter).
pub fn code_range(code: u8) -> Option<(i128, i128)> {
    Some(match code {
        0xd0 => (i8::MIN as i128, i8::MAX as i128),
        0xd1 => (i16::MIN as i128, i16::MAX as i128),
        0xd2 => (i32::MIN as i128, i32::MAX as i128),
        0xd3 => (i64::MIN as i128, i64::MAX as i128),
        0xcc => (0, u8::MAX as i128),
        0xcd => (0, u16::MAX as i128),
        0xce => (0, u32::MAX as i128),
        0xcf => (0, u64::MAX as i128),
        _ => return None,
    })
}

impl Config {
    pub fn parse(cfg: &Bound<'_, PyDict>) -> PyResult<Config> {
        let mut markers = Vec::new();
        for (cls, code) in get(cfg, "markers")?.cast::<PyDict>()?.iter() {
            let code: u8 = code.extract()?;
            if code_range(code).is_none() {
                return Err(pyo3::exceptions::PyValueError::new_err("bad marker code"));
            }
            markers.push(Marker {
                cls: cls.unbind(),
                code,
            });
        }
        Ok(Config {
            codec_error: get(cfg, "codec_error")?.cast::<PyType>()?.clone().unbind(),
            void: obj(cfg, "void")?,
            ext: obj(cfg, "ext")?,
            float32: obj(cfg, "float32")?,
            markers,
            dto_to_wire: obj(cfg, "dto_to_wire")?,
            dto_from_wire: obj(cfg, "dto_from_wire")?,
            timespan_to_ticks: obj(cfg, "timespan_to_ticks")?,
            timespan_from_ticks: obj(cfg, "timespan_from_ticks")?,
            datetime: obj(cfg, "datetime")?,
            timedelta: obj(cfg, "timedelta")?,
            max_depth: get(cfg, "max_depth")?.extract()?,
            msg: Messages {
                invocation: obj(cfg, "invocation")?,
                stream_invocation: obj(cfg, "stream_invocation")?,
                stream_item: obj(cfg, "stream_item")?,
                completion: obj(cfg, "completion")?,
                cancel_invocation: obj(cfg, "cancel_invocation")?,
                ping: obj(cfg, "ping")?,
                close: obj(cfg, "close")?,
                ack: obj(cfg, "ack")?,
                sequence: obj(cfg, "sequence")?,
                binding_failure: obj(cfg, "binding_failure")?,
            },
        })
    }

    /// The marker class remembering a fixed integer code, if the code has one (d2 is plain int).
    pub fn marker_for_code(&self, code: u8) -> Option<&Py<PyAny>> {
        self.markers.iter().find(|m| m.code == code).map(|m| &m.cls)
    }
}
