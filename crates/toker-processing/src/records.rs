//! Streaming reader of profile records: a JSON array, JSON Lines, or concatenated JSON
//! values, from any `BufRead`, one record at a time (memory bounded by the largest record).
//!
//! The reader only splits the input into top-level values and parses each one; it never
//! holds more than one record, so a 100k-profile file imports in constant memory.

use std::io::BufRead;

use serde_json::Value;

/// Where a record starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0-based index of the record in the input.
    pub index: usize,
    /// 1-based line on which the record starts.
    pub line: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} (line {})", self.index + 1, self.line)
    }
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The input could not be read.
    #[error("cannot read input: {0}")]
    Io(#[from] std::io::Error),
    /// A record is not valid JSON.
    #[error("{position}: malformed JSON: {message}")]
    Malformed {
        /// Where the record starts.
        position: Position,
        /// What the JSON parser said.
        message: String,
    },
    /// The input ended inside a record or an array.
    #[error("{position}: input ends before the record is complete (truncated file?)")]
    Truncated {
        /// Where the unfinished record starts.
        position: Position,
    },
    /// Something other than a record separator stands between records.
    #[error("line {line}: unexpected {found:?} between records (expected ',' or ']')")]
    Unexpected {
        /// The line of the offending byte.
        line: usize,
        /// The offending character.
        found: char,
    },
}

/// Iterates over the top-level JSON values of an input.
pub struct RecordReader<R> {
    input: R,
    line: usize,
    index: usize,
    /// `Some(true)` inside a top-level array, `Some(false)` for a stream of values.
    in_array: Option<bool>,
    done: bool,
    buf: Vec<u8>,
}

impl<R: BufRead> RecordReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        RecordReader {
            input,
            line: 1,
            index: 0,
            in_array: None,
            done: false,
            buf: Vec::new(),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, std::io::Error> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self) -> Result<Option<u8>, std::io::Error> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.input.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    fn skip_ws(&mut self) -> Result<(), std::io::Error> {
        while let Some(b) = self.peek()? {
            if b.is_ascii_whitespace() {
                self.bump()?;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Reads the bytes of one JSON value into `self.buf` (the first byte is already peeked).
    fn scan_value(&mut self, position: Position) -> Result<(), RecordError> {
        self.buf.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let Some(b) = self.peek()? else {
                if depth == 0 && !in_string && !self.buf.is_empty() {
                    return Ok(());
                }
                return Err(RecordError::Truncated { position });
            };
            if in_string {
                self.bump()?;
                self.buf.push(b);
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                continue;
            }
            match b {
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Ok(()),
                b'}' | b']' => {
                    depth -= 1;
                    self.bump()?;
                    self.buf.push(b);
                    if depth == 0 {
                        return Ok(());
                    }
                    continue;
                }
                b'"' => in_string = true,
                b',' if depth == 0 => return Ok(()),
                b if depth == 0 && b.is_ascii_whitespace() => return Ok(()),
                _ => {}
            }
            self.bump()?;
            self.buf.push(b);
        }
    }

    fn next_record(&mut self) -> Result<Option<(Position, Value)>, RecordError> {
        if self.done {
            return Ok(None);
        }
        self.skip_ws()?;
        if self.in_array.is_none() {
            match self.peek()? {
                None => return Ok(None),
                Some(b'[') => {
                    self.bump()?;
                    self.in_array = Some(true);
                }
                Some(_) => self.in_array = Some(false),
            }
            self.skip_ws()?;
        }
        let in_array = self.in_array == Some(true);
        if in_array {
            if self.index > 0 {
                match self.bump()? {
                    Some(b',') => self.skip_ws()?,
                    Some(b']') => return self.finish_array(),
                    Some(other) => {
                        return Err(RecordError::Unexpected {
                            line: self.line,
                            found: char::from(other),
                        });
                    }
                    None => {
                        return Err(RecordError::Truncated {
                            position: Position {
                                index: self.index,
                                line: self.line,
                            },
                        });
                    }
                }
            } else if self.peek()? == Some(b']') {
                self.bump()?;
                return self.finish_array();
            }
        }
        let position = Position {
            index: self.index,
            line: self.line,
        };
        match self.peek()? {
            None if in_array => return Err(RecordError::Truncated { position }),
            None => return Ok(None),
            Some(_) => {}
        }
        self.scan_value(position)?;
        self.index += 1;
        let value = serde_json::from_slice(&self.buf).map_err(|e| RecordError::Malformed {
            position,
            message: e.to_string(),
        })?;
        if !in_array {
            // JSON Lines may separate records with commas too; tolerate a stray one.
            self.skip_ws()?;
        }
        Ok(Some((position, value)))
    }

    fn finish_array(&mut self) -> Result<Option<(Position, Value)>, RecordError> {
        self.done = true;
        self.skip_ws()?;
        match self.peek()? {
            None => Ok(None),
            Some(b) => Err(RecordError::Unexpected {
                line: self.line,
                found: char::from(b),
            }),
        }
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<(Position, Value), RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                // After a structural error the rest of the input cannot be trusted.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> Vec<Result<(Position, Value), String>> {
        RecordReader::new(input.as_bytes())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    fn values(input: &str) -> Vec<Value> {
        read(input).into_iter().map(|r| r.unwrap().1).collect()
    }

    #[test]
    fn reads_a_json_array_one_record_at_a_time() {
        let v = values(r#" [ {"a": 1}, {"b": "x,]}"} ,{"c":[1,{"d":2}]} ] "#);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1]["b"], "x,]}");
        assert_eq!(v[2]["c"][1]["d"], 2);
    }

    #[test]
    fn reads_json_lines_with_positions() {
        let r = read("{\"a\":1}\n\n{\"a\":\"q\\\"uote\"}\n{\"a\":3}\n");
        let positions: Vec<Position> = r.iter().map(|r| r.as_ref().unwrap().0).collect();
        assert_eq!(
            positions,
            [
                Position { index: 0, line: 1 },
                Position { index: 1, line: 3 },
                Position { index: 2, line: 4 }
            ]
        );
    }

    #[test]
    fn empty_inputs_have_no_records() {
        assert!(read("").is_empty());
        assert!(read("  \n ").is_empty());
        assert!(read("[]").is_empty());
        assert!(read("[ \n ]\n").is_empty());
    }

    #[test]
    fn a_malformed_record_names_its_position() {
        let r = read("{\"a\":1}\n{\"a\": tru}\n");
        assert!(r[0].is_ok());
        let err = r[1].as_ref().unwrap_err();
        assert!(
            err.starts_with("record 2 (line 2): malformed JSON"),
            "{err}"
        );
    }

    #[test]
    fn truncated_inputs_are_reported_not_panicked_on() {
        for input in [
            "[{\"a\":1}, {\"b\":",
            "[{\"a\":1}",
            "{\"a\": \"open",
            "[{\"a\":1},",
        ] {
            let r = read(input);
            let last = r.last().unwrap().as_ref().unwrap_err();
            assert!(
                last.contains("ends before") || last.contains("malformed"),
                "{input}: {last}"
            );
        }
    }

    #[test]
    fn garbage_between_array_records_is_an_error() {
        let r = read("[{\"a\":1} {\"a\":2}]");
        assert!(r[1].as_ref().unwrap_err().contains("expected ',' or ']'"));
        let r = read("[{\"a\":1}] trailing");
        assert!(r[1].as_ref().unwrap_err().contains("unexpected"));
    }

    #[test]
    fn scalars_are_records_too_so_callers_can_reject_them() {
        let v = values("[1, \"x\", null]");
        assert_eq!(v, [Value::from(1), Value::from("x"), Value::Null]);
    }
}
