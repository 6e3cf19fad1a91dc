//! SignalR MessagePack hub protocol (aspnetcore HubProtocol.md): VarInt framing, message envelopes.
//! Mirror of `core/lazer/pyhub.py`; argument types come from the method table.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString, PyTuple};

use crate::decode::Dec;
use crate::encode::{is_type, long_value, Enc};
use crate::error::{fail, fail_owned, Res};
use crate::reader::Reader;
use crate::tables::Tables;
use crate::writer as w;

const INVOCATION: i128 = 1;
const STREAM_ITEM: i128 = 2;
const COMPLETION: i128 = 3;
const STREAM_INVOCATION: i128 = 4;
const CANCEL_INVOCATION: i128 = 5;
const PING: i128 = 6;
const CLOSE: i128 = 7;
const ACK: i128 = 8;
const SEQUENCE: i128 = 9;

/// ASP.NET Core refuses lengths that do not fit an int32.
pub const MAX_FRAME: usize = i32::MAX as usize;
/// Room reserved in front of a payload for its length prefix (at most 5 bytes).
const PREFIX_ROOM: usize = 5;

fn is(v: &Bound<'_, PyAny>, cls: &Py<PyAny>) -> bool {
    is_type(v, cls.as_ptr())
}

impl<'a> Enc<'a> {
    fn headers(&mut self, msg: &Bound<'_, PyAny>) -> Res<()> {
        let headers = msg.getattr(intern!(msg.py(), "headers"))?;
        let Ok(d) = headers.cast::<PyDict>() else {
            return fail("headers must be a dict");
        };
        w::map_header(&mut self.out, d.len())?;
        for (k, v) in d.iter() {
            match (k.cast::<PyString>(), v.cast::<PyString>()) {
                (Ok(k), Ok(v)) => {
                    w::str(&mut self.out, k.to_str()?)?;
                    w::str(&mut self.out, v.to_str()?)?;
                }
                _ => return fail("headers must map str to str"),
            }
        }
        Ok(())
    }

    fn opt_str(&mut self, v: &Bound<'_, PyAny>) -> Res<()> {
        if v.is_none() {
            w::nil(&mut self.out);
        } else if let Ok(s) = v.cast::<PyString>() {
            w::str(&mut self.out, s.to_str()?)?;
        } else {
            return fail("expected str or None");
        }
        Ok(())
    }

    fn invocation_id(&mut self, msg: &Bound<'_, PyAny>) -> Res<()> {
        self.opt_str(&msg.getattr(intern!(msg.py(), "invocation_id"))?)
    }

    fn invocation(&mut self, msg: &Bound<'_, PyAny>, kind: u8) -> Res<()> {
        let py = msg.py();
        self.out.extend_from_slice(&[0x96, kind]);
        self.headers(msg)?;
        self.invocation_id(msg)?;
        let target = msg.getattr(intern!(py, "target"))?;
        let Ok(target) = target.cast::<PyString>() else {
            return fail("target must be a str");
        };
        let target = target.to_str()?;
        w::str(&mut self.out, target)?;
        let args = msg.getattr(intern!(py, "arguments"))?;
        let args: Vec<Bound<'_, PyAny>> = if let Ok(l) = args.cast::<PyList>() {
            l.iter().collect()
        } else if let Ok(t) = args.cast::<PyTuple>() {
            t.iter().collect()
        } else {
            return fail("arguments must be a list");
        };
        let t = self.t;
        w::array_header(&mut self.out, args.len())?;
        match t.methods.get(target) {
            Some(method) => {
                if method.args.len() != args.len() {
                    return fail_owned(format!(
                        "{target} takes {} argument(s), got {}",
                        method.args.len(),
                        args.len()
                    ));
                }
                for (arg, node) in args.iter().zip(&method.args) {
                    self.value(*node, arg)?;
                }
            }
            // Unknown target: runtime-typed, as SignalR serialises object[] arguments.
            None => {
                for arg in &args {
                    self.value(t.any_node, arg)?;
                }
            }
        }
        let ids = msg.getattr(intern!(py, "stream_ids"))?;
        let ids: Vec<Bound<'_, PyAny>> = if let Ok(l) = ids.cast::<PyList>() {
            l.iter().collect()
        } else if let Ok(t) = ids.cast::<PyTuple>() {
            t.iter().collect()
        } else {
            return fail("stream_ids must be a list");
        };
        w::array_header(&mut self.out, ids.len())?;
        for id in &ids {
            match id.cast::<PyString>() {
                Ok(s) => w::str(&mut self.out, s.to_str()?)?,
                Err(_) => return fail("stream ids must be str"),
            }
        }
        Ok(())
    }

    /// One hub message payload, without its length prefix.
    pub fn message(&mut self, msg: &Bound<'_, PyAny>) -> Res<()> {
        let py = msg.py();
        let m = &self.t.cfg.msg;
        if is(msg, &m.invocation) {
            self.invocation(msg, INVOCATION as u8)?;
        } else if is(msg, &m.stream_invocation) {
            self.invocation(msg, STREAM_INVOCATION as u8)?;
        } else if is(msg, &m.completion) {
            let error = msg.getattr(intern!(py, "error"))?;
            let result = msg.getattr(intern!(py, "result"))?;
            if !error.is_none() {
                let Ok(error) = error.cast::<PyString>() else {
                    return fail("error must be a str");
                };
                self.out.extend_from_slice(&[0x95, 0x03]);
                self.headers(msg)?;
                self.invocation_id(msg)?;
                self.out.push(1);
                w::str(&mut self.out, error.to_str()?)?;
            } else if result.is(self.t.cfg.void.bind(py)) {
                self.out.extend_from_slice(&[0x94, 0x03]);
                self.headers(msg)?;
                self.invocation_id(msg)?;
                self.out.push(2);
            } else {
                self.out.extend_from_slice(&[0x95, 0x03]);
                self.headers(msg)?;
                self.invocation_id(msg)?;
                self.out.push(3);
                self.value(self.t.any_node, &result)?;
            }
        } else if is(msg, &m.stream_item) {
            self.out.extend_from_slice(&[0x94, 0x02]);
            self.headers(msg)?;
            self.invocation_id(msg)?;
            let item = msg.getattr(intern!(py, "item"))?;
            self.value(self.t.any_node, &item)?;
        } else if is(msg, &m.cancel_invocation) {
            self.out.extend_from_slice(&[0x93, 0x05]);
            self.headers(msg)?;
            self.invocation_id(msg)?;
        } else if is(msg, &m.ping) {
            self.out.extend_from_slice(&[0x91, 0x06]);
        } else if is(msg, &m.close) {
            self.out.extend_from_slice(&[0x93, 0x07]);
            self.opt_str(&msg.getattr(intern!(py, "error"))?)?;
            let allow = msg.getattr(intern!(py, "allow_reconnect"))?;
            if !allow.is_exact_instance_of::<PyBool>() {
                return fail("allow_reconnect must be a bool");
            }
            w::bool(&mut self.out, allow.is_truthy()?);
        } else if is(msg, &m.ack) || is(msg, &m.sequence) {
            let kind = if is(msg, &m.ack) { ACK } else { SEQUENCE };
            self.out.extend_from_slice(&[0x92, kind as u8]);
            let seq = msg.getattr(intern!(py, "sequence_id"))?;
            if !seq.is_instance_of::<pyo3::types::PyInt>() || seq.is_exact_instance_of::<PyBool>() {
                return fail("sequence_id must be an int");
            }
            match long_value(&seq) {
                Some(x) if i64::try_from(x).is_ok() => w::int(&mut self.out, x),
                _ => return fail("sequence_id out of range"),
            }
        } else {
            return fail("cannot encode this object as a hub message");
        }
        Ok(())
    }
}

/// A framed message: the payload is written after PREFIX_ROOM bytes, then the prefix is placed
/// right in front of it, so nothing is copied but the final bytes object.
pub fn encode_frame(t: &Tables, msg: &Bound<'_, PyAny>) -> Res<(Vec<u8>, usize)> {
    let mut enc = Enc::new(t);
    enc.out.resize(PREFIX_ROOM, 0);
    enc.message(msg)?;
    let mut out = enc.out;
    let len = out.len() - PREFIX_ROOM;
    if len > MAX_FRAME {
        return fail("message over 2 GB");
    }
    let mut prefix = Vec::with_capacity(PREFIX_ROOM);
    w::varint(&mut prefix, len);
    let start = PREFIX_ROOM - prefix.len();
    out[start..PREFIX_ROOM].copy_from_slice(&prefix);
    Ok((out, start))
}

/// (length, payload offset), or None while the prefix is incomplete.
fn read_varint(d: &[u8], p: usize) -> Res<Option<(usize, usize)>> {
    let mut length: u64 = 0;
    for i in 0..5 {
        let Some(&b) = d.get(p + i) else {
            return Ok(None);
        };
        length |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            if length > MAX_FRAME as u64 {
                return fail("message length over 2 GB");
            }
            return Ok(Some((length as usize, p + i + 1)));
        }
    }
    fail("length prefix longer than 5 bytes")
}

impl<'a, 'py> Dec<'a, 'py> {
    fn headers(&mut self) -> Res<Bound<'py, PyDict>> {
        let count = self.r.map_header()?;
        let d = PyDict::new(self.py);
        for _ in 0..count {
            let k = PyString::new(self.py, self.r.str()?);
            let v = PyString::new(self.py, self.r.str()?);
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn opt_str(&mut self) -> Res<Bound<'py, PyAny>> {
        if self.r.peek()? == 0xc0 {
            self.r.p += 1;
            return Ok(self.py.None().into_bound(self.py));
        }
        Ok(PyString::new(self.py, self.r.str()?).into_any())
    }

    fn invocation(&mut self, count: usize, kind: i128) -> Res<Bound<'py, PyAny>> {
        let py = self.py;
        let t = self.t;
        let m = &t.cfg.msg;
        if count < 5 {
            return fail("invocation with fewer than 5 elements");
        }
        let headers = self.headers()?;
        let id = self.opt_str()?;
        let target_str = self.r.str()?;
        let Some(method) = t.methods.get(target_str) else {
            let target = PyString::new(py, target_str);
            let error = format!("Unknown hub method '{target_str}'");
            return Ok(m.binding_failure.bind(py).call1((id, target, error))?);
        };
        let target = method.name.bind(py).clone();
        let argc = self.r.array_header()?;
        if argc != method.args.len() {
            let error = format!(
                "Invocation provides {argc} argument(s) but target expects {}.",
                method.args.len()
            );
            return Ok(m.binding_failure.bind(py).call1((id, target, error))?);
        }
        let mut args = Vec::with_capacity(argc);
        for node in &method.args {
            match self.value(*node) {
                Ok(arg) => args.push(arg),
                Err(err) => {
                    let error = format!("Error binding arguments: {}", err.message(py));
                    return Ok(m.binding_failure.bind(py).call1((id, target, error))?);
                }
            }
        }
        let ids = PyList::empty(py);
        if count >= 6 {
            let n = self.r.array_header()?;
            for _ in 0..n {
                ids.append(PyString::new(py, self.r.str()?))?;
            }
        }
        let cls = if kind == INVOCATION {
            &m.invocation
        } else {
            &m.stream_invocation
        };
        let args = PyList::new(py, args)?;
        Ok(cls.bind(py).call1((target, args, id, headers, ids))?)
    }

    /// One payload -> message, or None for a message type this protocol version ignores.
    pub fn message(
        &mut self,
        result_nodes: Option<&Bound<'py, PyDict>>,
    ) -> Res<Option<Bound<'py, PyAny>>> {
        let py = self.py;
        let t = self.t;
        let m = &t.cfg.msg;
        let count = self.r.array_header()?;
        if count < 1 {
            return fail("empty hub message");
        }
        let kind = self.r.int()?;
        let msg = match kind {
            INVOCATION | STREAM_INVOCATION => self.invocation(count, kind)?,
            COMPLETION => {
                if count < 4 {
                    return fail("completion with fewer than 4 elements");
                }
                let headers = self.headers()?;
                let id = self.opt_str()?;
                let result_kind = self.r.int()?;
                let none = py.None().into_bound(py);
                let void = t.cfg.void.bind(py);
                match result_kind {
                    2 => m.completion.bind(py).call1((id, void, none, headers))?,
                    1 | 3 if count < 5 => return fail("completion without its error or result"),
                    1 => {
                        let error = PyString::new(py, self.r.str()?);
                        m.completion.bind(py).call1((id, void, error, headers))?
                    }
                    3 => {
                        let mut node = t.any_node;
                        if let (Some(nodes), false) = (result_nodes, id.is_none()) {
                            if let Some(found) = nodes.get_item(&id)? {
                                node = crate::schema::check_node(found.extract()?, t.nodes.len())?;
                            }
                        }
                        let result = self.value(node)?;
                        m.completion.bind(py).call1((id, result, none, headers))?
                    }
                    other => return fail_owned(format!("invalid completion result kind {other}")),
                }
            }
            STREAM_ITEM => {
                if count < 4 {
                    return fail("stream item with fewer than 4 elements");
                }
                let headers = self.headers()?;
                let id = self.opt_str()?;
                let item = self.any(0)?;
                m.stream_item.bind(py).call1((id, item, headers))?
            }
            CANCEL_INVOCATION => {
                if count < 3 {
                    return fail("cancel invocation with fewer than 3 elements");
                }
                let headers = self.headers()?;
                let id = self.opt_str()?;
                m.cancel_invocation.bind(py).call1((id, headers))?
            }
            PING => m.ping.bind(py).call0()?,
            CLOSE => {
                if count < 2 {
                    return fail("close with fewer than 2 elements");
                }
                let error = self.opt_str()?;
                let allow = if count >= 3 { self.r.bool()? } else { false };
                m.close.bind(py).call1((error, allow))?
            }
            ACK | SEQUENCE => {
                if count < 2 {
                    return fail("ack/sequence with fewer than 2 elements");
                }
                let seq = self.r.int()?;
                if i64::try_from(seq).is_err() {
                    return fail("sequence id out of range");
                }
                let cls = if kind == ACK { &m.ack } else { &m.sequence };
                cls.bind(py).call1((seq as i64,))?
            }
            // Unknown types are ignored for forward compatibility, as ASP.NET Core does.
            _ => return Ok(None),
        };
        Ok(Some(msg))
    }
}

/// Every complete message in `data` -> (messages, bytes consumed).
pub fn decode_frames<'py>(
    py: Python<'py>,
    t: &Tables,
    data: &[u8],
    max_message_size: usize,
    result_nodes: Option<&Bound<'py, PyDict>>,
) -> Res<(Bound<'py, PyList>, usize)> {
    let messages = PyList::empty(py);
    let mut p = 0;
    while p < data.len() {
        let Some((length, start)) = read_varint(data, p)? else {
            break;
        };
        if length > max_message_size {
            return fail_owned(format!(
                "message of {length} bytes exceeds the {max_message_size} limit"
            ));
        }
        if length > data.len() - start {
            break;
        }
        let stop = start + length;
        let mut dec = Dec {
            py,
            t,
            r: Reader::new(&data[start..stop]),
        };
        if let Some(msg) = dec.message(result_nodes)? {
            messages.append(msg)?;
        }
        p = stop;
    }
    Ok((messages, p))
}
