//! Streaming reader of profile records: one JSON array of records, or JSON Lines (any
//! whitespace-separated stream of JSON values), from any `BufRead`, one record at a time.
//!
//! The input's first non-blank character decides the shape: `[` means one JSON array whose
//! elements are the records; anything else is a stream of values (JSON Lines). A UTF-8
//! byte-order mark at the start is skipped.
//!
//! The reader only finds where each top-level value starts and ends (tracking strings and
//! bracket depth), then parses that value alone: it never holds more than one record, so a
//! 100k-profile file imports in constant memory. A record larger than
//! [`DEFAULT_MAX_RECORD_BYTES`] (configurable) is refused instead of filling memory.
//!
//! Errors and recovery: a record whose boundaries were found but whose JSON is invalid is
//! reported as [`RecordError::Malformed`] and reading goes on with the next record. Any
//! other error ([`RecordError::Truncated`], [`RecordError::Unexpected`],
//! [`RecordError::TooLarge`], [`RecordError::Io`]) means the rest of the input cannot be
//! split reliably: it is reported once and the iterator ends.

use std::fmt;
use std::io::BufRead;

use serde_json::Value;

/// The largest record [`RecordReader::new`] accepts: 16 MiB, far above any real profile
/// (a profile with a thousand videos is about 200 KiB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Where a record starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0-based index of the record in the input.
    pub index: usize,
    /// 1-based line on which the record starts.
    pub line: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {} (line {})", self.index + 1, self.line)
    }
}

/// Why a record could not be read. Each message is whole: [`RecordError::Io`] prints the
/// I/O error and does not offer it again as its `source`, so a chain printer shows it once.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The input could not be read.
    #[error("cannot read input: {0}")]
    Io(std::io::Error),
    /// A record is not valid JSON. Reading goes on with the next record.
    #[error("{position}: malformed JSON at line {line} column {column}: {message}")]
    Malformed {
        /// Where the record starts.
        position: Position,
        /// The 1-based line of the input where the parser stopped.
        line: usize,
        /// The 1-based column (in bytes) on that line where the parser stopped.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The input ended inside a record or an array.
    #[error("{position}: input ends before the record is complete (truncated file?)")]
    Truncated {
        /// Where the unfinished record starts.
        position: Position,
    },
    /// Something other than a record or a separator stands between records.
    #[error("line {line}: unexpected {found} between records (expected {expected})")]
    Unexpected {
        /// The line of the offending character.
        line: usize,
        /// The offending character, quoted, or its byte value when it is not ASCII.
        found: String,
        /// What may stand there.
        expected: &'static str,
    },
    /// A record is larger than the reader's limit.
    #[error("{position}: record is larger than {limit} bytes (not a profile file?)")]
    TooLarge {
        /// Where the record starts.
        position: Position,
        /// The limit in bytes.
        limit: usize,
    },
}

impl From<std::io::Error> for RecordError {
    fn from(e: std::io::Error) -> Self {
        RecordError::Io(e)
    }
}

impl RecordError {
    /// Whether the reader stops after this error (everything but [`RecordError::Malformed`]).
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        !matches!(self, RecordError::Malformed { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Nothing read yet.
    Unknown,
    /// Inside a top-level array.
    Array,
    /// A stream of values (JSON Lines).
    Stream,
}

/// Iterates over the records of an input: `Ok((position, value))` per record, or an error
/// (see the module documentation for which errors end the iteration).
#[derive(Debug)]
pub struct RecordReader<R> {
    input: R,
    /// 1-based line and byte column of the next unread byte.
    line: usize,
    column: usize,
    index: usize,
    shape: Shape,
    done: bool,
    max_record_bytes: usize,
    buf: Vec<u8>,
}

/// Where a value ends in the chunk being scanned.
enum Scanned {
    /// The value continues past this chunk.
    More,
    /// The value ends before the byte at this offset, which is not part of it.
    Before(usize),
    /// The value ends with the byte at this offset.
    At(usize),
}

/// The scanner's state between chunks.
#[derive(Default)]
struct ScanState {
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl ScanState {
    /// Scans `chunk`, the continuation of the value scanned so far (`started`: whether any
    /// byte of it has been seen).
    fn scan(&mut self, chunk: &[u8], started: bool) -> Scanned {
        for (i, &b) in chunk.iter().enumerate() {
            let first = !started && i == 0;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Scanned::At(i);
                    }
                } else if b == b'\n' {
                    // A raw line break cannot be inside a JSON string: the record ends
                    // here (malformed), and a JSON Lines input resumes on the next line.
                    return Scanned::At(i);
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Scanned::At(i);
                    }
                }
                // A scalar ends at a separator; a stray closer or comma at the very start
                // is taken as a (malformed) one-byte value so that the caller reports it.
                b'}' | b']' | b',' if first => return Scanned::At(i),
                b'}' | b']' | b',' if self.depth == 0 => return Scanned::Before(i),
                b if self.depth == 0 && b.is_ascii_whitespace() => return Scanned::Before(i),
                _ => {}
            }
        }
        Scanned::More
    }
}

impl<R: BufRead> RecordReader<R> {
    /// A reader over `input`, refusing records over [`DEFAULT_MAX_RECORD_BYTES`].
    pub fn new(input: R) -> Self {
        RecordReader {
            input,
            line: 1,
            column: 1,
            index: 0,
            shape: Shape::Unknown,
            done: false,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            buf: Vec::new(),
        }
    }

    /// The same reader with another record size limit, in bytes.
    #[must_use]
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// Consumes `n` bytes of the current chunk into the record being read.
    fn keep(&mut self, n: usize) -> Result<(), std::io::Error> {
        let taken = self.advance(n)?;
        let chunk = self.input.fill_buf()?;
        self.buf.extend_from_slice(&chunk[..taken]);
        self.input.consume(taken);
        Ok(())
    }

    /// Consumes `n` bytes of the current chunk, dropping them (whitespace, separators).
    fn skip(&mut self, n: usize) -> Result<(), std::io::Error> {
        let taken = self.advance(n)?;
        self.input.consume(taken);
        Ok(())
    }

    /// Moves line and column past the first `n` bytes of the current chunk (fewer if it is
    /// shorter); returns how many bytes that is. The bytes stay unconsumed.
    fn advance(&mut self, n: usize) -> Result<usize, std::io::Error> {
        let chunk = self.input.fill_buf()?;
        let taken = &chunk[..n.min(chunk.len())];
        for &b in taken {
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        Ok(taken.len())
    }

    /// Skips whitespace and returns the next byte, not consumed.
    fn skip_ws(&mut self) -> Result<Option<u8>, std::io::Error> {
        loop {
            let chunk = self.input.fill_buf()?;
            let Some(end) = chunk.iter().position(|b| !b.is_ascii_whitespace()) else {
                let n = chunk.len();
                if n == 0 {
                    return Ok(None);
                }
                self.skip(n)?;
                continue;
            };
            let next = chunk[end];
            self.skip(end)?;
            return Ok(Some(next));
        }
    }

    fn skip_bom(&mut self) -> Result<(), std::io::Error> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        if self.input.fill_buf()?.starts_with(BOM) {
            self.input.consume(BOM.len());
        }
        Ok(())
    }

    /// Reads the bytes of one value into `self.buf`; its first byte is the next one.
    fn scan_value(&mut self, position: Position) -> Result<(), RecordError> {
        self.buf.clear();
        let mut state = ScanState::default();
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                // A scalar may end with the input; anything else is cut short.
                if state.depth == 0 && !state.in_string && !self.buf.is_empty() {
                    return Ok(());
                }
                return Err(RecordError::Truncated { position });
            }
            let started = !self.buf.is_empty();
            let (take, end) = match state.scan(chunk, started) {
                Scanned::More => (chunk.len(), false),
                Scanned::Before(i) => (i, true),
                Scanned::At(i) => (i + 1, true),
            };
            if self.buf.len() + take > self.max_record_bytes {
                return Err(RecordError::TooLarge {
                    position,
                    limit: self.max_record_bytes,
                });
            }
            self.keep(take)?;
            if end {
                return Ok(());
            }
        }
    }

    fn unexpected(&self, byte: u8, expected: &'static str) -> RecordError {
        let found = if byte.is_ascii_graphic() {
            format!("{:?}", char::from(byte))
        } else {
            format!("byte 0x{byte:02X}")
        };
        RecordError::Unexpected {
            line: self.line,
            found,
            expected,
        }
    }

    fn next_record(&mut self) -> Result<Option<(Position, Value)>, RecordError> {
        if self.done {
            return Ok(None);
        }
        if self.shape == Shape::Unknown {
            self.skip_bom()?;
            match self.skip_ws()? {
                None => return Ok(None),
                Some(b'[') => {
                    self.skip(1)?;
                    self.shape = Shape::Array;
                }
                Some(_) => self.shape = Shape::Stream,
            }
        }
        let mut next = self.skip_ws()?;
        if self.shape == Shape::Array {
            if self.index == 0 && next == Some(b']') {
                self.skip(1)?;
                return self.finish_array();
            }
            if self.index > 0 {
                match next {
                    Some(b',') => {
                        self.skip(1)?;
                        next = self.skip_ws()?;
                    }
                    Some(b']') => {
                        self.skip(1)?;
                        return self.finish_array();
                    }
                    Some(other) => return Err(self.unexpected(other, "',' or ']'")),
                    None => {}
                }
            }
        }
        let position = Position {
            index: self.index,
            line: self.line,
        };
        match next {
            None if self.shape == Shape::Array => return Err(RecordError::Truncated { position }),
            None => return Ok(None),
            Some(b) if self.shape == Shape::Stream && matches!(b, b',' | b']' | b'}') => {
                return Err(self.unexpected(b, "a new record: JSON Lines has one value per line"));
            }
            Some(b) if self.shape == Shape::Array && b == b']' => {
                return Err(self.unexpected(b, "a record after ','"));
            }
            Some(_) => {}
        }
        let start_column = self.column;
        self.scan_value(position)?;
        self.index += 1;
        match serde_json::from_slice(&self.buf) {
            Ok(value) => Ok(Some((position, value))),
            Err(e) => Err(malformed(&e, position, start_column)),
        }
    }

    fn finish_array(&mut self) -> Result<Option<(Position, Value)>, RecordError> {
        self.done = true;
        match self.skip_ws()? {
            None => Ok(None),
            Some(b) => Err(self.unexpected(b, "nothing after the closing ']'")),
        }
    }
}

/// A parse error with the position made absolute in the input (serde_json counts from the
/// start of the record).
fn malformed(e: &serde_json::Error, position: Position, start_column: usize) -> RecordError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    let line = position.line + e.line().saturating_sub(1);
    let column = if e.line() <= 1 {
        start_column + e.column().saturating_sub(1)
    } else {
        e.column()
    };
    RecordError::Malformed {
        position,
        line,
        column,
        message,
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<(Position, Value), RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                if e.is_fatal() {
                    self.done = true;
                }
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn read(input: &str) -> Vec<Result<(Position, Value), String>> {
        RecordReader::new(input.as_bytes())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    fn values(input: &str) -> Vec<Value> {
        read(input).into_iter().map(|r| r.unwrap().1).collect()
    }

    fn errors(input: &str) -> Vec<String> {
        read(input).into_iter().filter_map(Result::err).collect()
    }

    #[test]
    fn reads_a_json_array_one_record_at_a_time() {
        let v = values(r#" [ {"a": 1}, {"b": "x,]}\"\\"} ,{"c":[1,{"d":2}]} ] "#);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1]["b"], "x,]}\"\\");
        assert_eq!(v[2]["c"][1]["d"], 2);
    }

    #[test]
    fn reads_json_lines_with_positions() {
        let r = read("{\"a\":1}\n\n{\"a\":\"q\\\"uote\"}\r\n{\"a\":3}");
        let positions: Vec<Position> = r.iter().map(|r| r.as_ref().unwrap().0).collect();
        assert_eq!(
            positions,
            [
                Position { index: 0, line: 1 },
                Position { index: 1, line: 3 },
                Position { index: 2, line: 4 }
            ]
        );
        assert_eq!(r[1].as_ref().unwrap().1["a"], "q\"uote");
    }

    #[test]
    fn array_and_json_lines_give_the_same_records() {
        let lines = "{\"a\":1}\n{\"b\":[2]}\n\"s\"\n3\n";
        let array = "[{\"a\":1},\n {\"b\":[2]},\n \"s\", 3]";
        assert_eq!(values(lines), values(array));
        // Pretty-printed records spanning lines are fine in a stream too.
        assert_eq!(
            values("{\n \"a\": 1\n}\n{\"b\":\n [2]}\n\"s\" 3"),
            values(array)
        );
    }

    #[test]
    fn empty_inputs_have_no_records() {
        for input in ["", "  \n ", "[]", "[ \n ]\n", "\u{feff}", "\u{feff}[]"] {
            assert!(read(input).is_empty(), "{input:?}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        assert_eq!(values("\u{feff}{\"a\":1}\n").len(), 1);
        assert_eq!(values("\u{feff}[{\"a\":1}]").len(), 1);
    }

    #[test]
    fn a_malformed_record_names_its_position_and_reading_goes_on() {
        let r = read("{\"a\":1}\n{\"a\": tru}\n{\"a\":3}\n");
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[1].as_ref().unwrap_err(),
            "record 2 (line 2): malformed JSON at line 2 column 10: expected ident"
        );
        assert_eq!(r[2].as_ref().unwrap().1["a"], 3);
        // Line numbers count from the start of the input, not of the record.
        let r = read("[\n{\"a\": 1},\n{\n\"a\":\n  -}\n]");
        assert_eq!(
            r[1].as_ref().unwrap_err(),
            "record 2 (line 3): malformed JSON at line 5 column 4: invalid number"
        );
    }

    #[test]
    fn an_unterminated_string_in_json_lines_costs_one_record() {
        let r = read("{\"a\": \"open}\n{\"a\":2}\n");
        let err = r[0].as_ref().unwrap_err();
        assert!(
            err.starts_with("record 1 (line 1): malformed JSON"),
            "{err}"
        );
        assert_eq!(r[1].as_ref().unwrap().1["a"], 2);
    }

    #[test]
    fn truncated_inputs_are_reported_and_end_the_reading() {
        for (input, position) in [
            ("[{\"a\":1}, {\"b\":", "record 2 (line 1)"),
            ("[{\"a\":1}", "record 2 (line 1)"),
            ("[{\"a\":1},\n", "record 2 (line 2)"),
            ("[", "record 1 (line 1)"),
            ("{\"a\":1}\n{\"a\": [1, 2", "record 2 (line 2)"),
            ("\"open", "record 1 (line 1)"),
        ] {
            let errs = errors(input);
            assert_eq!(errs.len(), 1, "{input:?}: {errs:?}");
            assert_eq!(
                errs[0],
                format!("{position}: input ends before the record is complete (truncated file?)"),
                "{input:?}"
            );
        }
    }

    #[test]
    fn garbage_between_or_after_records_is_an_error_with_its_line() {
        assert_eq!(
            errors("[{\"a\":1}\n {\"a\":2}]"),
            ["line 2: unexpected '{' between records (expected ',' or ']')"]
        );
        assert_eq!(
            errors("[{\"a\":1}]\n\ntrailing"),
            ["line 3: unexpected 't' between records (expected nothing after the closing ']')"]
        );
        assert_eq!(
            errors("[{\"a\":1},]"),
            ["line 1: unexpected ']' between records (expected a record after ',')"]
        );
        assert_eq!(
            errors("{\"a\":1},\n{\"a\":2}"),
            [
                "line 1: unexpected ',' between records (expected a new record: JSON Lines has one value per line)"
            ]
        );
        assert_eq!(
            errors("{\"a\":1}\n}"),
            [
                "line 2: unexpected '}' between records (expected a new record: JSON Lines has one value per line)"
            ]
        );
        // Trailing garbage in a stream is a malformed record of its own.
        let r = read("{\"a\":1}\nxyz\n");
        assert!(r[0].is_ok());
        assert!(
            r[1].as_ref()
                .unwrap_err()
                .starts_with("record 2 (line 2): malformed")
        );
        let errs = errors("[1]\u{e9}");
        assert_eq!(
            errs,
            [
                "line 1: unexpected byte 0xC3 between records (expected nothing after the closing ']')"
            ]
        );
    }

    #[test]
    fn scalars_are_records_too_so_callers_can_reject_them() {
        let v = values("[1, \"x\", null, -2.5e3]");
        assert_eq!(
            v,
            [
                Value::from(1),
                Value::from("x"),
                Value::Null,
                Value::from(-2500.0)
            ]
        );
    }

    #[test]
    fn records_span_buffer_boundaries() {
        // A 7-byte buffer splits every record, string and escape across reads.
        let input = "[{\"name\": \"a \\\"quoted\\\" ]} name\", \"n\": [1, [2, 3]]},\n 42 , \"s\"]";
        let small: Vec<Value> = RecordReader::new(BufReader::with_capacity(7, input.as_bytes()))
            .map(|r| r.unwrap().1)
            .collect();
        assert_eq!(small, values(input));
        assert_eq!(small[0]["name"], "a \"quoted\" ]} name");
        assert_eq!(small.len(), 3);
    }

    #[test]
    fn oversized_records_are_refused() {
        let input = format!("{{\"a\":\"{}\"}}\n{{\"a\":1}}", "x".repeat(100));
        let mut reader = RecordReader::new(input.as_bytes()).with_max_record_bytes(64);
        let err = reader.next().unwrap().unwrap_err();
        assert!(err.is_fatal());
        assert_eq!(
            err.to_string(),
            "record 1 (line 1): record is larger than 64 bytes (not a profile file?)"
        );
        assert!(reader.next().is_none());
    }

    proptest::proptest! {
        /// Whatever the input, the reader ends (every item consumes input), never panics,
        /// and gives back exactly the values of a well-formed JSON Lines input.
        #[test]
        fn any_input_ends_and_valid_lines_round_trip(
            input in "[\\[\\]{}\",:\\\\ \n0-9a-z]{0,40}",
            records in proptest::collection::vec(
                proptest::prelude::any::<(i32, String, bool)>(), 0..6),
        ) {
            let items = RecordReader::new(input.as_bytes()).take(input.len() + 2).count();
            proptest::prop_assert!(items <= input.len() + 1, "{input:?} gave {items} items");

            let values: Vec<Value> = records
                .iter()
                .map(|(n, s, b)| serde_json::json!({ "n": n, "s": s, "b": [b, null] }))
                .collect();
            let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
            let array = serde_json::to_string_pretty(&values).unwrap();
            for text in [lines, array] {
                let got: Vec<Value> = RecordReader::new(text.as_bytes())
                    .map(|r| r.map(|(_, v)| v).map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()
                    .unwrap();
                proptest::prop_assert_eq!(&got, &values);
            }
        }
    }

    #[test]
    fn read_errors_are_reported() {
        struct Failing;
        impl std::io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let mut reader = RecordReader::new(BufReader::new(Failing));
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "cannot read input: disk on fire");
        assert!(reader.next().is_none());
    }
}
