//! One internal error type: parse failures stay cheap Rust strings until they reach Python.

use std::borrow::Cow;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;

pub enum Error {
    /// Malformed input or a value the schema does not allow.
    Codec(Cow<'static, str>),
    /// Raised by Python code we called (a converter, a constructor, attribute access).
    Py(PyErr),
}

pub type Res<T> = Result<T, Error>;

impl From<PyErr> for Error {
    fn from(err: PyErr) -> Self {
        Error::Py(err)
    }
}

pub fn fail<T>(msg: &'static str) -> Res<T> {
    Err(Error::Codec(Cow::Borrowed(msg)))
}

pub fn fail_owned<T>(msg: String) -> Res<T> {
    Err(Error::Codec(Cow::Owned(msg)))
}

impl Error {
    /// The exception Python sees: always the facade's CodecError for ordinary failures, so
    /// callers have one class to catch; BaseExceptions (KeyboardInterrupt...) pass through.
    pub fn into_pyerr(self, py: Python<'_>, codec_error: &Bound<'_, PyType>) -> PyErr {
        match self {
            Error::Codec(msg) => PyErr::from_type(codec_error.clone(), msg.into_owned()),
            Error::Py(err) => {
                if err.is_instance(py, codec_error.as_any())
                    || !err.is_instance_of::<PyException>(py)
                {
                    err
                } else {
                    PyErr::from_type(codec_error.clone(), err.value(py).to_string())
                }
            }
        }
    }

    /// Text for an InvocationBindingFailure.
    pub fn message(&self, py: Python<'_>) -> String {
        match self {
            Error::Codec(msg) => msg.to_string(),
            Error::Py(err) => err.value(py).to_string(),
        }
    }
}
