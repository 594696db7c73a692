//! A bounds-checked reader for the TLS-presentation-language structures of
//! RFC 9577 and RFC 9578.
//!
//! Written by hand: the structures are four fixed layouts and one with
//! length-prefixed vectors; `tls_codec` would add a dependency (and derive
//! macros) for what is a cursor over a slice. Every read checks the length,
//! so decoding arbitrary bytes cannot panic.

use crate::Error;

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Truncated { what: self.what, needed: n - self.buf.len() });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array::<2>()?))
    }

    /// `opaque field<0..2^8-1>`
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    /// `opaque field<0..2^16-1>`
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes { what: self.what, extra: self.buf.len() })
        }
    }
}
