//! hitcircle_native: the lazer MessagePack codec (SignalR framing, MessagePack-CSharp values)
//! for hitcircle, in Rust.
//!
//! The codec is schema-driven: `core/lazer` compiles its hub type declarations into a node
//! table and passes it to `Codec(...)`, so this crate holds no osu! type and needs no change
//! when a type is added. See `core/lazer/native.py` for the Python side of the contract.

mod config;
mod decode;
mod encode;
mod error;
mod hub;
mod reader;
mod schema;
mod tables;
mod writer;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::config::Config;
use crate::decode::Dec;
use crate::encode::Enc;
use crate::error::fail_owned;
use crate::tables::Tables;

/// Version of the Python <-> Rust contract (`NATIVE_ABI` in core/lazer/native.py).
const ABI: u32 = 1;

#[pyclass(frozen, module = "hitcircle_native")]
struct Codec {
    t: Tables,
}

#[pymethods]
impl Codec {
    #[new]
    fn new(
        py: Python<'_>,
        nodes: &Bound<'_, PyList>,
        methods: &Bound<'_, PyDict>,
        runtime: &Bound<'_, PyDict>,
        any_node: usize,
        config: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let nodes = schema::parse_nodes(py, nodes)?;
        let methods = schema::parse_methods(methods, nodes.len())?;
        let (runtime, classes) = schema::parse_runtime(runtime, nodes.len())?;
        let any_node = schema::check_node(any_node, nodes.len())?;
        let cfg = Config::parse(config)?;
        Ok(Codec {
            t: Tables {
                nodes,
                methods,
                runtime,
                _runtime_classes: classes,
                any_node,
                cfg,
            },
        })
    }

    /// `value` encoded as node `node`.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        value: &Bound<'py, PyAny>,
        node: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let t = &self.t;
        let node = schema::check_node(node, t.nodes.len())?;
        let mut enc = Enc::new(t);
        enc.value(node, value).map_err(|e| t.to_py(py, e))?;
        Ok(PyBytes::new(py, &enc.out))
    }

    /// Exactly one value of node `node` from `data`.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        node: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let t = &self.t;
        let node = schema::check_node(node, t.nodes.len())?;
        let mut dec = Dec::new(py, t, data);
        let value = dec.value(node).map_err(|e| t.to_py(py, e))?;
        let left = data.len() - dec.r.p;
        if left != 0 {
            return Err(t.to_py(
                py,
                fail_owned::<()>(format!("{left} trailing bytes after the value")).unwrap_err(),
            ));
        }
        Ok(value)
    }

    /// A hub message with its VarInt length prefix.
    fn encode_frame<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let t = &self.t;
        let (out, start) = hub::encode_frame(t, message).map_err(|e| t.to_py(py, e))?;
        Ok(PyBytes::new(py, &out[start..]))
    }

    /// Every complete hub message in `data` -> (messages, bytes consumed).
    #[pyo3(signature = (data, max_message_size, result_nodes=None))]
    fn decode_frames<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        max_message_size: usize,
        result_nodes: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<(Bound<'py, PyList>, usize)> {
        let t = &self.t;
        hub::decode_frames(py, t, data, max_message_size, result_nodes).map_err(|e| t.to_py(py, e))
    }
}

#[pymodule]
fn hitcircle_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ABI", ABI)?;
    m.add_class::<Codec>()?;
    Ok(())
}
