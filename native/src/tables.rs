//! Everything a codec instance holds, shared by the encoder, decoder and hub framing.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::config::Config;
use crate::error::Error;
use crate::schema::{Method, Node};

pub struct Tables {
    pub nodes: Vec<Node>,
    pub methods: HashMap<String, Method>,
    /// type address -> node, for values typed at run time (results, stream items).
    pub runtime: HashMap<usize, usize>,
    /// Keeps the classes behind `runtime`'s addresses alive.
    pub _runtime_classes: Vec<Py<PyAny>>,
    pub any_node: usize,
    pub cfg: Config,
}

impl Tables {
    pub fn codec_error<'py>(&self, py: Python<'py>) -> &Bound<'py, PyType> {
        self.cfg.codec_error.bind(py)
    }

    pub fn to_py(&self, py: Python<'_>, err: Error) -> PyErr {
        err.into_pyerr(py, self.codec_error(py))
    }
}
