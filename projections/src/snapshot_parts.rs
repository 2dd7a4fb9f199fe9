//! A large read model's snapshot as parts that decode on every core.
//!
//! A snapshot is one MessagePack document, decoded front to back on one thread. For the
//! ledgers of a large organisation that is a gigabyte and most of the startup time, while the
//! other core sits idle once the smaller read models are loaded. A state that opts in
//! serialises itself, in binary formats only, as a sequence of parts, each a byte string that
//! holds one independently encoded slice of the state. Loading hands the byte strings to one
//! decoder per core as they are read, so a few parts are in memory as bytes at a time, never
//! the whole snapshot. Human-readable formats (the JSON `talo replay` compares) keep the plain
//! shape: see [`crate::ledger::LedgersView`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::mpsc::sync_channel;
use std::sync::{Mutex, PoisonError};

use serde::de::{self, DeserializeOwned, SeqAccess, Visitor};
use serde::ser::{self, SerializeSeq};
use serde::{Deserializer, Serialize, Serializer};
use serde_bytes::{ByteBuf, Bytes};

/// Writes `parts` as a sequence of byte strings, each one part encoded as MessagePack.
pub fn serialize<S, P>(serializer: S, parts: &[P]) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    P: Serialize,
{
    let mut seq = serializer.serialize_seq(Some(parts.len()))?;
    let mut buffer = Vec::new();
    for part in parts {
        buffer.clear();
        rmp_serde::encode::write(&mut buffer, part).map_err(ser::Error::custom)?;
        seq.serialize_element(Bytes::new(&buffer))?;
    }
    seq.end()
}

/// Reads what [`serialize`] wrote, decoding the parts on as many threads as there are cores,
/// and returns them in their order.
pub fn deserialize<'de, D, P>(deserializer: D) -> Result<Vec<P>, D::Error>
where
    D: Deserializer<'de>,
    P: DeserializeOwned + Send,
{
    deserializer.deserialize_seq(PartsVisitor(PhantomData))
}

struct PartsVisitor<P>(PhantomData<P>);

impl<'de, P: DeserializeOwned + Send> Visitor<'de> for PartsVisitor<P> {
    type Value = Vec<P>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of encoded snapshot parts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<P>, A::Error> {
        let decoders = std::thread::available_parallelism().map_or(1, |n| n.get());
        let decoded: Mutex<Vec<Option<Result<P, String>>>> = Mutex::new(Vec::new());
        let (send, receive) = sync_channel::<(usize, ByteBuf)>(decoders);
        let receive = Mutex::new(receive);
        let read = std::thread::scope(|scope| {
            for _ in 0..decoders {
                scope.spawn(|| {
                    loop {
                        let next = receive
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .recv();
                        let Ok((index, bytes)) = next else { break };
                        let part = rmp_serde::from_slice::<P>(&bytes).map_err(|e| e.to_string());
                        drop(bytes);
                        let mut decoded = decoded.lock().unwrap_or_else(PoisonError::into_inner);
                        if decoded.len() <= index {
                            decoded.resize_with(index + 1, || None);
                        }
                        decoded[index] = Some(part);
                    }
                });
            }
            // Read on this thread while the decoders work; the bounded channel keeps only a
            // few parts' bytes in memory.
            let mut count = 0;
            let read = loop {
                match seq.next_element::<ByteBuf>() {
                    Ok(Some(bytes)) => {
                        if send.send((count, bytes)).is_err() {
                            break Ok(count);
                        }
                        count += 1;
                    }
                    Ok(None) => break Ok(count),
                    Err(e) => break Err(e),
                }
            };
            drop(send);
            read
        })?;
        let decoded = decoded.into_inner().unwrap_or_else(PoisonError::into_inner);
        let mut parts = Vec::with_capacity(read);
        for (index, part) in decoded.into_iter().enumerate() {
            match part {
                Some(Ok(part)) => parts.push(part),
                Some(Err(reason)) => {
                    return Err(de::Error::custom(format!("part {index}: {reason}")));
                }
                None => return Err(de::Error::custom(format!("part {index} was not decoded"))),
            }
        }
        if parts.len() != read {
            return Err(de::Error::custom(format!(
                "{read} parts read but {} decoded",
                parts.len()
            )));
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Part {
        Numbers(Vec<u64>),
        Name(String),
    }

    #[derive(Debug, PartialEq)]
    struct Whole(Vec<Part>);

    impl Serialize for Whole {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::serialize(s, &self.0)
        }
    }

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::deserialize(d).map(Whole)
        }
    }

    #[test]
    fn parts_come_back_whole_and_in_order_through_a_streamed_read() {
        let whole = Whole(
            (0..200)
                .map(|i| {
                    if i % 3 == 0 {
                        Part::Name(format!("part {i}"))
                    } else {
                        Part::Numbers((0..i).collect())
                    }
                })
                .collect(),
        );
        let bytes = rmp_serde::to_vec(&whole).unwrap();
        let mut reader = std::io::BufReader::new(bytes.as_slice());
        let mut decoder = rmp_serde::Deserializer::new(&mut reader);
        let back = Whole::deserialize(&mut decoder).unwrap();
        assert_eq!(back, whole);
    }

    #[test]
    fn no_parts_is_an_empty_state() {
        let bytes = rmp_serde::to_vec(&Whole(Vec::new())).unwrap();
        assert_eq!(
            rmp_serde::from_slice::<Whole>(&bytes).unwrap(),
            Whole(Vec::new())
        );
    }

    #[test]
    fn a_damaged_part_is_an_error_naming_it() {
        let good = rmp_serde::to_vec(&Part::Name("fine".into())).unwrap();
        let parts: Vec<serde_bytes::ByteBuf> = vec![
            serde_bytes::ByteBuf::from(good),
            serde_bytes::ByteBuf::from(vec![0xc1, 0x00]),
        ];
        let bytes = rmp_serde::to_vec(&parts).unwrap();
        let error = rmp_serde::from_slice::<Whole>(&bytes).unwrap_err();
        assert!(error.to_string().contains("part 1"), "{error}");
    }
}
