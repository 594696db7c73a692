//! `c2sp.org/tlog-tiles`: tile and bundle paths (golden file), strict path
//! parsing, which tiles a growing tree publishes, tile bytes, bundles, and
//! the authenticated tile-backed hash reader.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;

use expect_test::{expect, expect_file};
use tongxin_tlog::tile::{
    check_bundle_against_tile, decode_bundle_for, hash_from_tile, read_tile_data, tile_for_stored_index,
    tiles_for_consistency_proof, tiles_for_inclusion_proof, tiles_for_tree_hash,
};
use tongxin_tlog::{
    Bundle, BundleError, Hash, HashReader, MemoryHashStore, Tile, TileHashReader, TilePath, TileReadError,
    TileReader, decode_bundle, encode_bundle, new_bundles, new_tiles, parse_path, prove_consistency,
    prove_inclusion, stored_hash_index, tree_hash,
};

fn tree_of(size: u64) -> MemoryHashStore {
    MemoryHashStore::from_entries((0..size).map(|i| format!("entry {i}").into_bytes()))
}

#[test]
fn tile_paths_golden() {
    let mut out = String::new();
    let examples = [
        Tile::full(0, 0),
        Tile { level: 0, index: 0, width: 1 },
        Tile { level: 0, index: 0, width: 255 },
        Tile::full(0, 999),
        Tile::full(0, 1000),
        Tile { level: 1, index: 1234067, width: 17 },
        Tile::full(2, 1_000_000),
        Tile::full(63, u64::MAX),
    ];
    out.push_str("# examples\n");
    for t in examples {
        out.push_str(&format!("{}\n", t.path()));
    }
    for b in [Bundle { index: 0, width: 256 }, Bundle { index: 1234067, width: 112 }] {
        out.push_str(&format!("{}\n", b.path()));
    }
    for (old, new) in [(0, 1), (0, 256), (0, 257), (255, 70_000), (70_000, 70_001), (16_777_215, 16_777_216)]
    {
        out.push_str(&format!("# new_tiles({old}, {new})\n"));
        let tiles = new_tiles(old, new);
        let full0 = tiles.iter().filter(|t| t.level == 0 && t.is_full()).count();
        for t in tiles.iter().filter(|t| !(t.level == 0 && t.is_full())) {
            out.push_str(&format!("{}\n", t.path()));
        }
        out.push_str(&format!("+ {full0} full level-0 tiles\n"));
        for b in new_bundles(old, new).iter().filter(|b| b.width != 256) {
            out.push_str(&format!("{}\n", b.path()));
        }
    }
    expect_file!["golden/tile_paths.txt"].assert_eq(&out);
}

#[test]
fn paths_round_trip() {
    for p in [
        "tile/0/000",
        "tile/0/000.p/1",
        "tile/63/x018/x446/x744/x073/x709/x551/615",
        "tile/entries/x001/000.p/255",
    ] {
        assert_eq!(parse_path(p).unwrap().path(), p);
    }
    assert_eq!(
        parse_path("tile/entries/x001/x234/067.p/9"),
        Ok(TilePath::Bundle(Bundle { index: 1234067, width: 9 }))
    );
    assert_eq!(Tile::parse_path("tile/3/x001/000"), Ok(Tile::full(3, 1000)));
}

#[test]
fn non_canonical_paths_are_refused_with_the_reason() {
    let cases = [
        "tiles/0/000",
        "tile/00/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/0",
        "tile/0/",
        "tile/0/0",
        "tile/0/0000",
        "tile/0/x000/001",
        "tile/0/001/002",
        "tile/0/x01/002",
        "tile/0/y001/002",
        "tile/0/x001/x002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p/",
        "tile/entries/000.p/300",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/8/0/000",
        "tile/0/000.p/1/",
    ];
    let out: String = cases.iter().map(|c| format!("{c}: {}\n", parse_path(c).unwrap_err())).collect();
    expect![[r#"
        tiles/0/000: tile path "tiles/0/000" does not start with "tile/"
        tile/00/000: tile path "tile/00/000" has level "00"; a level is a decimal 0..=63 without leading zeroes
        tile/64/000: tile path "tile/64/000" has level "64"; a level is a decimal 0..=63 without leading zeroes
        tile/-1/000: tile path "tile/-1/000" has level "-1"; a level is a decimal 0..=63 without leading zeroes
        tile/0: tile path "tile/0" has no index after the level
        tile/0/: tile path "tile/0/" has no index after the level
        tile/0/0: tile path "tile/0/0" has index element "0"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/0000: tile path "tile/0/0000" has index element "0000"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/x000/001: tile path "tile/0/x000/001" starts its index with "x000", which is not the canonical encoding
        tile/0/001/002: tile path "tile/0/001/002" has index element "001"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/x01/002: tile path "tile/0/x01/002" has index element "x01"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/y001/002: tile path "tile/0/y001/002" has index element "y001"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/x001/x002: tile path "tile/0/x001/x002" has index element "x002"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/000.p/0: tile path "tile/0/000.p/0" has width "0"; a partial width is a decimal 1..=255 without leading zeroes
        tile/0/000.p/256: tile path "tile/0/000.p/256" has width "256"; a partial width is a decimal 1..=255 without leading zeroes
        tile/0/000.p/01: tile path "tile/0/000.p/01" has width "01"; a partial width is a decimal 1..=255 without leading zeroes
        tile/0/000.p/: tile path "tile/0/000.p/" has width ""; a partial width is a decimal 1..=255 without leading zeroes
        tile/entries/000.p/300: tile path "tile/entries/000.p/300" has width "300"; a partial width is a decimal 1..=255 without leading zeroes
        tile/0/x018/x446/x744/x073/x709/x551/616: tile path "tile/0/x018/x446/x744/x073/x709/x551/616" has an index too large for 64 bits
        tile/8/0/000: tile path "tile/8/0/000" has index element "0"; all but the last must be "x" and 3 digits, the last 3 digits
        tile/0/000.p/1/: tile path "tile/0/000.p/1/" has width "1/"; a partial width is a decimal 1..=255 without leading zeroes
    "#]]
    .assert_eq(&out);
}

/// Growing a tree step by step and writing `new_tiles` at each step leaves
/// exactly the tiles `new_tiles(0, n)` lists, each at its final width.
#[test]
fn incremental_tiles_converge() {
    let steps = [0u64, 1, 5, 255, 256, 257, 300, 65_535, 65_536, 65_537, 70_000, 131_072, 140_000];
    let mut written: BTreeMap<(u8, u64), u16> = BTreeMap::new();
    for pair in steps.windows(2) {
        let tiles = new_tiles(pair[0], pair[1]);
        for t in &tiles {
            let prev = written.insert((t.level, t.index), t.width);
            assert!(prev.is_none_or(|w| w < t.width), "tile {t} rewritten no wider");
        }
    }
    let want: BTreeMap<(u8, u64), u16> =
        new_tiles(0, 140_000).into_iter().map(|t| ((t.level, t.index), t.width)).collect();
    assert_eq!(written, want);
    assert!(new_tiles(70_000, 70_000).is_empty());
}

#[test]
fn tile_bytes_are_the_stored_hashes() {
    let tree = tree_of(70_000);
    for t in [
        Tile::full(0, 3),
        Tile { level: 0, index: 273, width: 112 },
        Tile::full(1, 0),
        Tile { level: 2, index: 0, width: 1 },
    ] {
        let data = read_tile_data(&t, &tree).unwrap();
        assert_eq!(data.len(), t.data_len());
        // Level-L hashes are roots of subtrees of 256^L leaves.
        let first = Hash::from_slice(&data[..32]).unwrap();
        let level = 8 * u32::from(t.level);
        assert_eq!(first, tree.read_hashes(&[stored_hash_index(level, t.index << 8)]).unwrap()[0]);
    }
    // The level-2 partial tile of width 1 holds the root of the first 65,536 leaves.
    let top = read_tile_data(&Tile { level: 2, index: 0, width: 1 }, &tree).unwrap();
    assert_eq!(Hash::from_slice(&top).unwrap(), tree.root_at(65_536));
    // Hashes at levels between tile levels are computed from a run in a tile.
    let (t, start, end) = tile_for_stored_index(stored_hash_index(3, 1));
    assert_eq!((t, start, end), (Tile { level: 0, index: 0, width: 16 }, 8 * 32, 16 * 32));
    let data = read_tile_data(&Tile::full(0, 0), &tree).unwrap();
    assert_eq!(hash_from_tile(&Tile::full(0, 0), &data, stored_hash_index(3, 1)).unwrap(), {
        tree.read_hashes(&[stored_hash_index(3, 1)]).unwrap()[0]
    });
    let err = hash_from_tile(&Tile::full(0, 0), &data, stored_hash_index(0, 256)).unwrap_err();
    expect!["stored hash index 511 is in tile tile/0/001.p/1, not in tile tile/0/000"]
        .assert_eq(&err.to_string());
}

/// Serves tiles from a store, recording requests; `tamper` corrupts one
/// byte of one tile.
struct Tiles<'a> {
    store: &'a MemoryHashStore,
    requested: RefCell<Vec<Tile>>,
    tamper: Option<(Tile, usize)>,
}

impl TileReader for Tiles<'_> {
    type Error = Infallible;
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Infallible> {
        self.requested.borrow_mut().extend_from_slice(tiles);
        Ok(tiles
            .iter()
            .map(|t| {
                let mut data = read_tile_data(t, self.store).unwrap();
                if let Some((bad, byte)) = self.tamper
                    && bad == *t
                {
                    let at = byte % data.len();
                    data[at] ^= 1;
                }
                data
            })
            .collect())
    }
}

#[test]
fn proofs_from_tiles_equal_proofs_from_storage() {
    for size in [1u64, 2, 255, 256, 257, 1000, 65_536, 65_537, 70_000] {
        let tree = tree_of(size);
        let root = tree.root();
        let tiles = Tiles { store: &tree, requested: RefCell::new(Vec::new()), tamper: None };
        let reader = TileHashReader::new(size, root, &tiles);
        assert_eq!(tree_hash(size, &reader).unwrap(), root);
        let mut asked = tiles.requested.borrow().clone();
        asked.sort();
        let mut planned = tiles_for_tree_hash(size);
        planned.sort();
        assert_eq!(asked, planned, "tiles for the root of {size}");
        for index in [0, size / 3, size / 2, size - 1] {
            tiles.requested.borrow_mut().clear();
            assert_eq!(
                prove_inclusion(index, size, &reader).unwrap(),
                prove_inclusion(index, size, &tree).unwrap()
            );
            let mut asked = tiles.requested.borrow().clone();
            let mut planned = tiles_for_inclusion_proof(index, size).unwrap();
            asked.sort();
            planned.sort();
            assert_eq!(asked, planned, "tiles for inclusion of {index} in {size}");
        }
        for old in [1, size / 2, size - 1, size] {
            let old = old.max(1);
            assert_eq!(
                prove_consistency(old, size, &reader).unwrap(),
                prove_consistency(old, size, &tree).unwrap(),
                "{old} -> {size}"
            );
            assert!(tiles_for_consistency_proof(old, size).is_ok());
        }
    }
}

#[test]
fn a_tampered_tile_is_caught_and_named() {
    let size = 70_000;
    let tree = tree_of(size);
    let root = tree.root();
    // A level-0 full tile under the level-1 tile: caught against its parent.
    let bad = Tile::full(0, 17);
    let tiles = Tiles { store: &tree, requested: RefCell::new(Vec::new()), tamper: Some((bad, 100)) };
    let reader = TileHashReader::new(size, root, tiles);
    let err = prove_inclusion(17 * 256 + 3, size, &reader).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("tile tile/0/017 hashes to"), "{msg}");
    assert!(msg.contains("parent tile tile/1/000 says"), "{msg}");
    // A root tile: caught against the checkpoint root.
    let bad = Tile { level: 0, index: 273, width: 112 };
    let tiles = Tiles { store: &tree, requested: RefCell::new(Vec::new()), tamper: Some((bad, 5)) };
    let reader = TileHashReader::new(size, root, tiles);
    match reader.read_hashes(&[stored_hash_index(0, 69_999)]) {
        Err(TileReadError::RootMismatch { tiles, size: 70_000, .. }) => {
            assert!(tiles.contains(&"tile/0/273.p/112".to_owned()), "{tiles:?}")
        }
        other => panic!("{other:?}"),
    }
    // A hash beyond the tree is refused.
    let tiles = Tiles { store: &tree, requested: RefCell::new(Vec::new()), tamper: None };
    let reader = TileHashReader::new(size, root, tiles);
    assert!(matches!(
        reader.read_hashes(&[stored_hash_index(0, 70_000)]),
        Err(TileReadError::IndexNotInTree { size: 70_000, .. })
    ));
}

#[test]
fn bundles_encode_decode_and_refuse_bad_input() {
    let entries: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), vec![7; 300]];
    let data = encode_bundle(&entries).unwrap();
    assert_eq!(&data[..3], &[0, 0, 0]);
    assert_eq!(decode_bundle(&data).unwrap(), entries.iter().map(Vec::as_slice).collect::<Vec<_>>());

    let big = vec![0u8; 65_536];
    let err = encode_bundle(&[b"ok".to_vec(), big]).unwrap_err();
    expect!["entry 1 is 65536 bytes; an entry bundle prefixes entries with a uint16 length, so entries must be at most 65535 bytes"]
        .assert_eq(&err.to_string());
    assert!(encode_bundle(&[vec![0u8; 65_535]]).is_ok());

    let cases: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 5, 1, 2], [0u8, 0].repeat(257)];
    let out: String = cases.iter().map(|c| format!("{}\n", decode_bundle(c).unwrap_err())).collect();
    expect![[r#"
        a bundle holds 1 to 256 entries, not 0
        bundle is truncated in the length prefix of entry 0 at byte 0
        bundle entry 0 declares 5 bytes at byte 0, but only 2 remain
        bundle holds more than 256 entries (extra data at byte 512)
    "#]]
    .assert_eq(&out);
    let b = Bundle { index: 2, width: 4 };
    expect!["bundle tile/entries/002.p/4 should hold 4 entries but holds 3"]
        .assert_eq(&decode_bundle_for(&b, &data).unwrap_err().to_string());
}

#[test]
fn bundle_checked_against_its_level0_tile_names_the_entry() {
    let entries: Vec<Vec<u8>> = (0..300u32).map(|i| format!("entry {i}").into_bytes()).collect();
    let tree = MemoryHashStore::from_entries(&entries);
    let bundle = Bundle { index: 1, width: 44 };
    let data = encode_bundle(&entries[256..300]).unwrap();
    let tile = read_tile_data(&bundle.tile(), &tree).unwrap();
    check_bundle_against_tile(&bundle, &data, &tile).unwrap();
    let mut tampered = entries[256..300].to_vec();
    tampered[10] = b"entry 266!".to_vec();
    let err = check_bundle_against_tile(&bundle, &encode_bundle(&tampered).unwrap(), &tile).unwrap_err();
    assert!(matches!(err, BundleError::LeafMismatch { index: 10, .. }));
    let msg = err.to_string();
    assert!(msg.starts_with("entry 10 (log index 266) of bundle tile/entries/001.p/44 hashes to "), "{msg}");
    assert!(msg.contains("but tile tile/0/001.p/44 says"), "{msg}");
}

/// The sequencer's path: integrate batches from the log's own tiles (no
/// stored-hash table), write the new tiles, and end with the same tree.
#[test]
fn batches_integrated_from_own_tiles_match_one_by_one_appends() {
    use std::collections::HashMap;
    use tongxin_tlog::{OwnTileHashReader, leaf_hash, stored_hash_count, stored_hashes_for_leaves};

    struct TileStore(RefCell<HashMap<(u8, u64), Vec<u8>>>);
    impl TileReader for TileStore {
        type Error = Infallible;
        fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Infallible> {
            let map = self.0.borrow();
            Ok(tiles.iter().map(|t| map[&(t.level, t.index)][..t.data_len()].to_vec()).collect())
        }
    }
    // A growing store of stored hashes, so tile bytes can be cut from it.
    let mut hashes: Vec<Hash> = Vec::new();
    let tiles = TileStore(RefCell::new(HashMap::new()));
    let reference = tree_of(70_500);
    let mut size = 0u64;
    for batch in [1usize, 3, 250, 2, 1000, 64_000, 5244] {
        let leaves: Vec<Hash> =
            (size..size + batch as u64).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect();
        let own = OwnTileHashReader::new(size, &tiles);
        let new = stored_hashes_for_leaves(size, &leaves, &own).unwrap();
        assert_eq!(hashes.len() as u64, stored_hash_count(size));
        hashes.extend(new);
        let new_size = size + batch as u64;
        assert_eq!(hashes.len() as u64, stored_hash_count(new_size));
        struct Flat<'a>(&'a [Hash]);
        impl HashReader for Flat<'_> {
            type Error = Infallible;
            fn read_hashes(&self, ix: &[u64]) -> Result<Vec<Hash>, Infallible> {
                Ok(ix.iter().map(|&i| self.0[i as usize]).collect())
            }
        }
        for t in new_tiles(size, new_size) {
            tiles.0.borrow_mut().insert((t.level, t.index), read_tile_data(&t, &Flat(&hashes)).unwrap());
        }
        size = new_size;
        assert_eq!(tree_hash(size, &Flat(&hashes)).unwrap(), reference.root_at(size), "root at {size}");
        assert_eq!(tree_hash(size, &OwnTileHashReader::new(size, &tiles)).unwrap(), reference.root_at(size));
    }
}
