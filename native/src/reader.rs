//! Bounds-checked MessagePack reader over a byte slice. Every count is checked against the
//! bytes left before anything is allocated or looped over, so hostile headers cost nothing.

use crate::error::{fail, fail_owned, Res};

pub struct Reader<'a> {
    pub d: &'a [u8],
    pub p: usize,
}

fn unexpected<T>(what: &str, b: u8, p: usize) -> Res<T> {
    fail_owned(format!("expected {what} at offset {p}, found 0x{b:02x}"))
}

impl<'a> Reader<'a> {
    pub fn new(d: &'a [u8]) -> Self {
        Reader { d, p: 0 }
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.d.len() - self.p
    }

    #[inline]
    pub fn peek(&self) -> Res<u8> {
        match self.d.get(self.p) {
            Some(&b) => Ok(b),
            None => fail("truncated input"),
        }
    }

    #[inline]
    pub fn byte(&mut self) -> Res<u8> {
        let b = self.peek()?;
        self.p += 1;
        Ok(b)
    }

    #[inline]
    pub fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if n > self.remaining() {
            return fail("truncated input");
        }
        let s = &self.d[self.p..self.p + n];
        self.p += n;
        Ok(s)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Res<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    fn u16(&mut self) -> Res<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    #[inline]
    fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    #[inline]
    fn u64(&mut self) -> Res<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Any integer encoding; i128 holds both int64 and uint64.
    pub fn int(&mut self) -> Res<i128> {
        let p = self.p;
        let b = self.byte()?;
        Ok(match b {
            0x00..=0x7f => b as i128,
            0xe0..=0xff => b as i8 as i128,
            0xcc => self.byte()? as i128,
            0xcd => self.u16()? as i128,
            0xce => self.u32()? as i128,
            0xcf => self.u64()? as i128,
            0xd0 => self.byte()? as i8 as i128,
            0xd1 => self.u16()? as i16 as i128,
            0xd2 => self.u32()? as i32 as i128,
            0xd3 => self.u64()? as i64 as i128,
            _ => return unexpected("integer", b, p),
        })
    }

    /// Floats of either width and integers (as MessagePack-CSharp's MessagePackReader reads them).
    pub fn float(&mut self) -> Res<f64> {
        match self.peek()? {
            0xcb => {
                self.p += 1;
                Ok(f64::from_bits(self.u64()?))
            }
            0xca => {
                self.p += 1;
                Ok(f32::from_bits(self.u32()?) as f64)
            }
            _ => Ok(self.int()? as f64),
        }
    }

    pub fn f32_bits(&mut self) -> Res<f32> {
        Ok(f32::from_bits(self.u32()?))
    }

    pub fn f64_bits(&mut self) -> Res<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    pub fn bool(&mut self) -> Res<bool> {
        let p = self.p;
        match self.byte()? {
            0xc3 => Ok(true),
            0xc2 => Ok(false),
            b => unexpected("bool", b, p),
        }
    }

    pub fn is_str(b: u8) -> bool {
        matches!(b, 0xa0..=0xbf | 0xd9..=0xdb)
    }

    fn str_len(&mut self) -> Res<usize> {
        let p = self.p;
        let b = self.byte()?;
        Ok(match b {
            0xa0..=0xbf => (b & 0x1f) as usize,
            0xd9 => self.byte()? as usize,
            0xda => self.u16()? as usize,
            0xdb => self.u32()? as usize,
            _ => return unexpected("string", b, p),
        })
    }

    pub fn str(&mut self) -> Res<&'a str> {
        let n = self.str_len()?;
        match std::str::from_utf8(self.take(n)?) {
            Ok(s) => Ok(s),
            Err(_) => fail("invalid UTF-8 in string"),
        }
    }

    pub fn array_header(&mut self) -> Res<usize> {
        let p = self.p;
        let b = self.byte()?;
        let n = match b {
            0x90..=0x9f => (b & 0x0f) as usize,
            0xdc => self.u16()? as usize,
            0xdd => self.u32()? as usize,
            _ => return unexpected("array", b, p),
        };
        // Every element takes at least one byte.
        if n > self.remaining() {
            return fail("array count exceeds the input");
        }
        Ok(n)
    }

    pub fn map_header(&mut self) -> Res<usize> {
        let p = self.p;
        let b = self.byte()?;
        let n = match b {
            0x80..=0x8f => (b & 0x0f) as usize,
            0xde => self.u16()? as usize,
            0xdf => self.u32()? as usize,
            _ => return unexpected("map", b, p),
        };
        if 2 * n > self.remaining() {
            return fail("map count exceeds the input");
        }
        Ok(n)
    }

    pub fn bin_len(&mut self) -> Res<usize> {
        let p = self.p;
        let b = self.byte()?;
        Ok(match b {
            0xc4 => self.byte()? as usize,
            0xc5 => self.u16()? as usize,
            0xc6 => self.u32()? as usize,
            _ => return unexpected("binary", b, p),
        })
    }

    /// Extension header -> (type code, data length); the data follows.
    pub fn ext_header(&mut self) -> Res<(i8, usize)> {
        let p = self.p;
        let b = self.byte()?;
        let n = match b {
            0xd4..=0xd8 => 1usize << (b - 0xd4),
            0xc7 => self.byte()? as usize,
            0xc8 => self.u16()? as usize,
            0xc9 => self.u32()? as usize,
            _ => return unexpected("extension", b, p),
        };
        Ok((self.byte()? as i8, n))
    }

    /// Timestamp extension -1 -> (seconds, nanoseconds).
    pub fn timestamp(&mut self) -> Res<(i64, u32)> {
        let (code, n) = self.ext_header()?;
        if code != -1 {
            return fail_owned(format!("expected timestamp extension -1, found {code}"));
        }
        match n {
            4 => Ok((self.u32()? as i64, 0)),
            8 => {
                let v = self.u64()?;
                Ok(((v & 0x3_ffff_ffff) as i64, (v >> 34) as u32))
            }
            12 => {
                let nanos = self.u32()?;
                Ok((self.u64()? as i64, nanos))
            }
            _ => fail_owned(format!("timestamp of {n} bytes")),
        }
    }

    /// Step over one value of any type; only structure is checked.
    pub fn skip(&mut self, depth: usize, max_depth: usize) -> Res<()> {
        let p = self.p;
        let b = self.peek()?;
        match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => {
                self.p += 1;
            }
            0xa0..=0xbf | 0xd9..=0xdb => {
                let n = self.str_len()?;
                self.take(n)?;
            }
            0xcc | 0xd0 => {
                self.p += 1;
                self.take(1)?;
            }
            0xcd | 0xd1 => {
                self.p += 1;
                self.take(2)?;
            }
            0xce | 0xd2 | 0xca => {
                self.p += 1;
                self.take(4)?;
            }
            0xcf | 0xd3 | 0xcb => {
                self.p += 1;
                self.take(8)?;
            }
            0xc4..=0xc6 => {
                let n = self.bin_len()?;
                self.take(n)?;
            }
            0xc7..=0xc9 | 0xd4..=0xd8 => {
                let (_, n) = self.ext_header()?;
                self.take(n)?;
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                if depth >= max_depth {
                    return fail("nesting too deep");
                }
                let n = self.array_header()?;
                for _ in 0..n {
                    self.skip(depth + 1, max_depth)?;
                }
            }
            0x80..=0x8f | 0xde | 0xdf => {
                if depth >= max_depth {
                    return fail("nesting too deep");
                }
                let n = self.map_header()?;
                for _ in 0..2 * n {
                    self.skip(depth + 1, max_depth)?;
                }
            }
            _ => return unexpected("a MessagePack value", b, p),
        }
        Ok(())
    }
}
