//! MessagePack writers with MessagePack-CSharp's choices (MessagePackWriter.cs): smallest
//! integer and header forms, str8 allowed, timestamps in their smallest extension form.

use crate::error::{fail, Res};

pub fn int(out: &mut Vec<u8>, v: i128) {
    if v >= 0 {
        if v < 0x80 {
            out.push(v as u8);
        } else if v < 0x100 {
            out.extend_from_slice(&[0xcc, v as u8]);
        } else if v < 0x1_0000 {
            out.push(0xcd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v < 0x1_0000_0000 {
            out.push(0xce);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(v as u64).to_be_bytes());
        }
    } else if v >= -32 {
        out.push(v as i8 as u8);
    } else if v >= -0x80 {
        out.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&(v as i64).to_be_bytes());
    }
}

fn sized_header(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, c16: u8, c32: u8) -> Res<()> {
    if n < fix_max {
        out.push(fix | n as u8);
    } else if n < 0x1_0000 {
        out.push(c16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u32::MAX as usize {
        out.push(c32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        return fail("collection too large for MessagePack");
    }
    Ok(())
}

pub fn array_header(out: &mut Vec<u8>, n: usize) -> Res<()> {
    sized_header(out, n, 0x90, 16, 0xdc, 0xdd)
}

pub fn map_header(out: &mut Vec<u8>, n: usize) -> Res<()> {
    sized_header(out, n, 0x80, 16, 0xde, 0xdf)
}

pub fn str(out: &mut Vec<u8>, s: &str) -> Res<()> {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n < 0x100 {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else {
        sized_header(out, n, 0, 0, 0xda, 0xdb)?;
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

pub fn bin(out: &mut Vec<u8>, b: &[u8]) -> Res<()> {
    let n = b.len();
    if n < 0x100 {
        out.extend_from_slice(&[0xc4, n as u8]);
    } else {
        sized_header(out, n, 0, 0, 0xc5, 0xc6)?;
    }
    out.extend_from_slice(b);
    Ok(())
}

pub fn ext(out: &mut Vec<u8>, code: i8, b: &[u8]) -> Res<()> {
    let n = b.len();
    match n {
        1 => out.push(0xd4),
        2 => out.push(0xd5),
        4 => out.push(0xd6),
        8 => out.push(0xd7),
        16 => out.push(0xd8),
        _ if n < 0x100 => out.extend_from_slice(&[0xc7, n as u8]),
        _ => sized_header(out, n, 0, 0, 0xc8, 0xc9)?,
    }
    out.push(code as u8);
    out.extend_from_slice(b);
    Ok(())
}

pub fn f32(out: &mut Vec<u8>, v: f32) {
    out.push(0xca);
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

pub fn bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

pub fn nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Timestamp extension -1 (msgpack spec): 32-bit, 64-bit or 96-bit form.
pub fn timestamp(out: &mut Vec<u8>, seconds: i64, nanos: u32) {
    if seconds >> 34 == 0 {
        if nanos == 0 && seconds >> 32 == 0 {
            out.extend_from_slice(&[0xd6, 0xff]);
            out.extend_from_slice(&(seconds as u32).to_be_bytes());
        } else {
            out.extend_from_slice(&[0xd7, 0xff]);
            out.extend_from_slice(&(((nanos as u64) << 34) | seconds as u64).to_be_bytes());
        }
    } else {
        out.extend_from_slice(&[0xc7, 0x0c, 0xff]);
        out.extend_from_slice(&nanos.to_be_bytes());
        out.extend_from_slice(&seconds.to_be_bytes());
    }
}

/// SignalR length prefix (aspnetcore BinaryMessageFormatter.cs): 7-bit groups, low first.
pub fn varint(out: &mut Vec<u8>, mut n: usize) {
    while n > 0x7f {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}
