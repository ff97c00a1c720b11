use super::super::arbitrary::arb_leaf;
use super::super::merge_keys::{builtin, Field, Schema, Strategy};
use super::values::{go_dedup, go_fmt, sort_scalars};
use super::*;
use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use serde_json::json;

// -----------------------------------------------------------------------
// The reference cases of apimachinery's strategicpatch/patch_test.go
// (TestCustomStrategicMergePatch, TestStrategicMergePatch,
// TestReplaceWithRawExtension), transcribed from YAML, one per line.
// Keys: d description, k kind, o original, t two-way patch, m modified,
// c current, w three-way patch, r result, tr two-way result, e error.
// Kinds: "custom" (apply t to o, lists compared after sorting as the Go
// test does), "custom_raw" (same, exact), "create" (two- and three-way,
// sorted as the Go test does), "raw" (two- and three-way, exact).

/// `MergeItem` from patch_test.go.
static MERGE_ITEM: Schema = Schema {
    name: "MergeItem",
    fields: &[
        Field {
            name: "mergingList",
            strategy: Strategy::Merge { key: Some("name") },
            retain_keys: false,
            schema: Some(&MERGE_ITEM),
        },
        Field {
            name: "nonMergingList",
            strategy: Strategy::Default,
            retain_keys: false,
            schema: Some(&MERGE_ITEM),
        },
        Field {
            name: "mergingIntList",
            strategy: Strategy::Merge { key: None },
            retain_keys: false,
            schema: None,
        },
        Field {
            name: "mergeItemPtr",
            strategy: Strategy::Merge { key: Some("name") },
            retain_keys: false,
            schema: Some(&MERGE_ITEM),
        },
        Field {
            name: "replacingItem",
            strategy: Strategy::Replace,
            retain_keys: false,
            schema: None,
        },
        Field {
            name: "retainKeysMap",
            strategy: Strategy::Default,
            retain_keys: true,
            schema: Some(&RETAIN_KEYS_MERGE_ITEM),
        },
        Field {
            name: "retainKeysMergingList",
            strategy: Strategy::Merge { key: Some("name") },
            retain_keys: true,
            schema: Some(&MERGE_ITEM),
        },
    ],
};

/// `RetainKeysMergeItem` from patch_test.go.
static RETAIN_KEYS_MERGE_ITEM: Schema = Schema {
    name: "RetainKeysMergeItem",
    fields: &[
        Field {
            name: "mergingIntList",
            strategy: Strategy::Merge { key: None },
            retain_keys: false,
            schema: None,
        },
        Field {
            name: "mergingList",
            strategy: Strategy::Merge { key: Some("name") },
            retain_keys: false,
            schema: Some(&MERGE_ITEM),
        },
        Field {
            name: "nonMergingList",
            strategy: Strategy::Default,
            retain_keys: false,
            schema: Some(&MERGE_ITEM),
        },
    ],
};

const K8S_CASES: &str = r#"
{"d":"unique scalars when merging lists","k":"custom","m":{"mergingIntList":[1,2,3]},"o":{"mergingIntList":[1,2]},"t":{"mergingIntList":[2,3]}}
{"d":"delete map from nested map","k":"custom","m":{"simpleMap":{}},"o":{"simpleMap":{"key1":1,"key2":1}},"t":{"simpleMap":{"$patch":"delete"}}}
{"d":"delete all items from merging list","k":"custom","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"t":{"mergingList":[{"$patch":"replace"}]}}
{"d":"merge empty merging lists","k":"custom","m":{"mergingList":[]},"o":{"mergingList":[]},"t":{"mergingList":[]}}
{"d":"delete all keys from map","k":"custom","m":{},"o":{"name":1,"value":1},"t":{"$patch":"replace"}}
{"d":"add key and delete all keys from map","k":"custom","m":{"other":"a"},"o":{"name":1,"value":1},"t":{"$patch":"replace","other":"a"}}
{"d":"de-duplicate entries in a merging list","k":"custom","m":{"mergingList":[{"name":1},{"name":2,"value":"a"},{"name":3}]},"o":{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":3}]}}
{"d":"delete all duplicate entries in a merging list","k":"custom","m":{"mergingList":[{"name":2,"value":"a"}]},"o":{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":1},{"$patch":"delete","name":3},{"$patch":"delete","name":3}]}}
{"d":"retainKeys map can add a field when no retainKeys directive present","k":"custom","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"value":"bar"}}}
{"d":"retainKeys map can change a field when no retainKeys directive present","k":"custom","m":{"retainKeysMap":{"name":"foo","value":"b"}},"o":{"retainKeysMap":{"name":"foo","value":"a"}},"t":{"retainKeysMap":{"value":"b"}}}
{"d":"retainKeys map can delete a field when no retainKeys directive present","k":"custom","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"name":"foo","value":"a"}},"t":{"retainKeysMap":{"value":null}}}
{"d":"retainKeys map merge an empty map","k":"custom","m":{"retainKeysMap":{"name":"foo","value":"a"}},"o":{"retainKeysMap":{"name":"foo","value":"a"}},"t":{"retainKeysMap":{}}}
{"d":"retainKeys list can add a field when no retainKeys directive present","k":"custom","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"t":{"retainKeysMergingList":[{"name":"foo","value":"a"}]}}
{"d":"retainKeys list can change a field when no retainKeys directive present","k":"custom","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"b"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"retainKeysMergingList":[{"name":"foo","value":"b"}]}}
{"d":"retainKeys list can delete a field when no retainKeys directive present","k":"custom","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"retainKeysMergingList":[{"name":"foo","value":null}]}}
{"d":"preserve the order from the patch in a merging list","k":"custom","m":{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x","value":"b"}]},"o":{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]},"t":{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"},{"name":2,"other":"x"}]}}
{"d":"preserve the order from the patch in a merging list 2","k":"custom","m":{"mergingList":[{"name":2,"value":"b"},{"name":3,"value":"c"},{"name":1,"value":"a"}]},"o":{"mergingList":[{"name":1},{"name":2,"value":"b"},{"name":3}]},"t":{"mergingList":[{"name":3,"value":"c"},{"name":1,"value":"a"}]}}
{"d":"preserve the order from the patch in a merging int list","k":"custom","m":{"mergingIntList":[3,1,2]},"o":{"mergingIntList":[1,2,3]},"t":{"mergingIntList":[3,1,2]}}
{"d":"preserve the order from the patch in a merging int list 2","k":"custom","m":{"mergingIntList":[2,3,1]},"o":{"mergingIntList":[1,2,3]},"t":{"mergingIntList":[3,1]}}
{"d":"$setElementOrder contains item that is not present in the list to be merged","k":"custom_raw","m":{"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]},"o":{"mergingList":[{"name":1},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":3},{"name":2},{"name":1}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}}
{"d":"$setElementOrder contains item that is not present in the int list to be merged","k":"custom_raw","m":{"mergingIntList":[3,1]},"o":{"mergingIntList":[1,3]},"t":{"$setElementOrder/mergingIntList":[3,2,1]}}
{"d":"should check if order in $setElementOrder and patch list match","e":"doesn't match","k":"custom_raw","o":{"mergingList":[{"name":1},{"name":3},{"name":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}}
{"d":"should check if order in $setElementOrder and patch int list match","e":"doesn't match","k":"custom_raw","o":{"mergingIntList":[1,3,2]},"t":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3,1]}}
{"d":"missing merge key should error out","e":"does not contain declared merge key","k":"custom_raw","o":{"mergingList":[{"name":1,"value":"a"}]},"t":{"mergingList":[{"value":"b"}]}}
{"c":{"name":1,"other":"a"},"d":"nil original","k":"create","m":{"name":1,"value":1},"r":{"name":1,"other":"a","value":1},"t":{"name":1,"value":1},"w":{"value":1}}
{"c":{"name":1},"d":"nil patch","k":"create","m":{"name":1},"o":{"name":1},"r":{"name":1},"t":{},"w":{}}
{"c":{"name":1,"other":"a"},"d":"add field to map","k":"create","m":{"name":1,"value":1},"o":{"name":1},"r":{"name":1,"other":"a","value":1},"t":{"value":1},"w":{"value":1}}
{"c":{"name":"a","other":"a"},"d":"add field to map with conflict","k":"create","m":{"name":1,"value":1},"o":{"name":1},"r":{"name":1,"other":"a","value":1},"t":{"value":1},"w":{"name":1,"value":1}}
{"c":{"name":1,"other":"a"},"d":"add field and delete field from map","k":"create","m":{"value":1},"o":{"name":1},"r":{"other":"a","value":1},"t":{"name":null,"value":1},"w":{"name":null,"value":1}}
{"c":{"name":"a","other":"a"},"d":"add field and delete field from map with conflict","k":"create","m":{"value":1},"o":{"name":1},"r":{"other":"a","value":1},"t":{"name":null,"value":1},"w":{"name":null,"value":1}}
{"c":{"simpleMap":{"key1":1,"key2":1,"other":"a"}},"d":"delete field from nested map","k":"create","m":{"simpleMap":{"key1":1}},"o":{"simpleMap":{"key1":1,"key2":1}},"r":{"simpleMap":{"key1":1,"other":"a"}},"t":{"simpleMap":{"key2":null}},"w":{"simpleMap":{"key2":null}}}
{"c":{"simpleMap":{"key1":"a","key2":1,"other":"a"}},"d":"delete field from nested map with conflict","k":"create","m":{"simpleMap":{"key1":1}},"o":{"simpleMap":{"key1":1,"key2":1}},"r":{"simpleMap":{"key1":1,"other":"a"}},"t":{"simpleMap":{"key2":null}},"w":{"simpleMap":{"key1":1,"key2":null}}}
{"c":{"name":1,"other":"a","value":1},"d":"delete all fields from map","k":"create","m":{},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"value":null},"w":{"name":null,"value":null}}
{"c":{"name":1,"other":"a","value":"a"},"d":"delete all fields from map with conflict","k":"create","m":{},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"value":null},"w":{"name":null,"value":null}}
{"c":{"name":1,"other":"a","value":1},"d":"add field and delete all fields from map","k":"create","m":{"other":"a"},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"other":"a","value":null},"w":{"name":null,"value":null}}
{"c":{"name":1,"other":"b","value":1},"d":"add field and delete all fields from map with conflict","k":"create","m":{"other":"a"},"o":{"name":1,"value":1},"r":{"other":"a"},"t":{"name":null,"other":"a","value":null},"w":{"name":null,"other":"a","value":null}}
{"c":{"nonMergingIntList":[1,2]},"d":"replace list of scalars","k":"create","m":{"nonMergingIntList":[2,3]},"o":{"nonMergingIntList":[1,2]},"r":{"nonMergingIntList":[2,3]},"t":{"nonMergingIntList":[2,3]},"w":{"nonMergingIntList":[2,3]}}
{"c":{"nonMergingIntList":[1,4]},"d":"replace list of scalars with conflict","k":"create","m":{"nonMergingIntList":[2,3]},"o":{"nonMergingIntList":[1,2]},"r":{"nonMergingIntList":[2,3]},"t":{"nonMergingIntList":[2,3]},"w":{"nonMergingIntList":[2,3]}}
{"c":{"mergingList":[{"name":1},{"name":2}]},"d":"delete all maps from merging list","k":"create","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]},"w":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"delete all maps from merging list with conflict","k":"create","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]},"w":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]}}
{"c":{"mergingList":[]},"d":"delete all maps from empty merging list","k":"create","m":{"mergingList":[]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[]},"t":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]},"w":{"mergingList":[{"$patch":"delete","name":1},{"$patch":"delete","name":2}]}}
{"c":{"mergingList":[]},"d":"merge empty merging lists","k":"create","m":{"mergingList":[]},"o":{"mergingList":[]},"r":{"mergingList":[]},"t":{},"w":{}}
{"c":{"name":"a","other":"a"},"d":"defined null values should propagate overwrite current fields (with conflict)","k":"create","m":{"name":1,"other":null,"value":1},"o":{"name":2},"r":{"name":1,"value":1},"t":{"name":1,"other":null,"value":1},"tr":{"name":1,"value":1},"w":{"name":1,"other":null,"value":1}}
{"c":{"name":"original-name","other":"current-other","value":"original-value"},"d":"defined null values should propagate removing original fields","k":"create","m":{"name":"modified-name","value":null},"o":{"name":"original-name","value":"original-value"},"r":{"name":"modified-name","other":"current-other"},"t":{"name":"modified-name","value":null},"tr":{"name":"modified-name"},"w":{"name":"modified-name","value":null}}
{"c":{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"},"d":"nil patch with retainKeys map","k":"create","m":{"name":"a","retainKeysMap":{"name":"foo"}},"o":{"name":"a","retainKeysMap":{"name":"foo"}},"r":{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"},"t":{},"w":{}}
{"c":{"name":"a","other":"c","retainKeysMap":{"name":"foo"}},"d":"retainKeys map with no change should not be present","k":"create","m":{"name":"a","retainKeysMap":{"name":"foo"},"value":"b"},"o":{"name":"a","retainKeysMap":{"name":"foo"}},"r":{"name":"a","other":"c","retainKeysMap":{"name":"foo"},"value":"b"},"t":{"value":"b"},"w":{"value":"b"}}
{"c":{"mergingIntList":[1,2,3,4]},"d":"delete items in lists of scalars","k":"raw","m":{"mergingIntList":[1,2]},"o":{"mergingIntList":[1,2,3]},"r":{"mergingIntList":[1,2,4]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]}}
{"c":{"mergingIntList":[1,2,3,3,4]},"d":"delete all duplicate items in lists of scalars","k":"raw","m":{"mergingIntList":[1,2]},"o":{"mergingIntList":[1,2,3,3]},"r":{"mergingIntList":[1,2,4]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2]}}
{"c":{"mergingIntList":[1,2,3,4]},"d":"add and delete items in lists of scalars","k":"raw","m":{"mergingIntList":[1,2,4]},"o":{"mergingIntList":[1,2,3]},"r":{"mergingIntList":[1,2,4]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2,4],"mergingIntList":[4]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[1,2,4]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"merge lists of maps","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":1},{"name":2,"value":2},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":3}]},"d":"merge lists of maps with conflict","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":2,"value":2},{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"add field to map in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":3,"other":"b","value":2}]},"d":"add field to map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"value":2},{"name":3,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"d":"add duplicate field to map in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{}}
{"c":{"mergingList":[{"name":1},{"name":1}]},"d":"de-duplicate field in merging list","k":"raw","m":{"mergingList":[{"name":1}]},"o":{"mergingList":[{"name":1},{"name":1}]},"r":{"mergingList":[{"name":1}]},"t":{"$setElementOrder/mergingList":[{"name":1}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1},{"name":1}]},"d":"delete duplicate field in merging list","k":"raw","m":{"mergingList":{}},"o":{"mergingList":[{"name":1},{"name":1}]},"r":{"mergingList":{}},"t":{"mergingList":{}},"w":{"mergingList":{}}}
{"c":{"mergingList":[{"name":1,"other":"x","value":"a"},{"name":2},{"name":3}]},"d":"add an item that already exists in current object in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":"a"},{"name":2},{"name":3}]},"o":{"mergingList":[{"name":1,"value":"a"},{"name":2}]},"r":{"mergingList":[{"name":1,"other":"x","value":"a"},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3}]},"w":{}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":3}]},"d":"add duplicate field to map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2,"value":2}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"d":"replace map field value in merging list","k":"raw","m":{"mergingList":[{"name":1,"value":"a"},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":3},{"name":2,"other":"b","value":2}]},"d":"replace map field value in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1,"value":"a"},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":"a"}]}}
{"c":{"mergingList":[{"name":1},{"name":2,"other":"b"}]},"d":"delete map from merging list","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"delete map from merging list with conflict","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":2,"other":"b"}]},"d":"delete missing map from merging list","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":3,"other":"a"}]},"d":"delete missing map from merging list with conflict","k":"raw","m":{"mergingList":[{"name":2}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2},{"name":3,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":2},{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1},{"name":2,"other":"b"},{"name":4,"other":"c"}]},"d":"add map and delete map from merging list","k":"raw","m":{"mergingList":[{"name":2},{"name":3}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":2,"other":"b"},{"name":4,"other":"c"},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":4,"other":"c"}]},"d":"add map and delete map from merging list with conflict","k":"raw","m":{"mergingList":[{"name":2},{"name":3}]},"o":{"mergingList":[{"name":1},{"name":2}]},"r":{"mergingList":[{"name":4,"other":"c"},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"$patch":"delete","name":1}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":2},{"name":3},{"$patch":"delete","name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}]},"d":"delete field from map in merging list","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}}
{"c":{"mergingList":[{"name":1,"other":"a","value":"a"},{"name":2,"value":2}]},"d":"delete field from map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"delete missing field from map in merging list","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"delete missing field from map in merging list with conflict","k":"raw","m":{"mergingList":[{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null},{"name":2,"value":2}]}}
{"c":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}],"other":"a"},{"name":2,"other":"b"}]},"d":"replace non merging list nested in merging list","k":"raw","m":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]},"o":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]},"r":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}}
{"c":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":"c"}],"other":"a"},{"name":2,"other":"b"}]},"d":"replace non merging list nested in merging list with value conflict","k":"raw","m":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]},"o":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]},"r":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}}
{"c":{"mergingList":[{"name":1,"nonMergingList":[{"name":2,"value":2}],"other":"a"},{"name":2,"other":"b"}]},"d":"replace non merging list nested in merging list with deletion conflict","k":"raw","m":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]},"o":{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]},"r":{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}],"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}}
{"c":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list","k":"raw","m":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergingList":[{"mergingList":[{"name":1,"other":"c","value":"a"},{"name":2,"other":"d","value":"b"}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list with value conflict","k":"raw","m":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":1,"other":"c","value":1},{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1}]}}
{"c":{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list with deletion conflict","k":"raw","m":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":1,"value":1},{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list nested in merging list with deletion conflict 2","k":"raw","m":{"mergingList":[{"mergingList":[{"name":2,"value":2},{"name":1,"value":1}],"name":1},{"name":2}]},"o":{"mergingList":[{"mergingList":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergingList":[{"mergingList":[{"name":2,"other":"d","value":2},{"name":1,"value":1}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergeItemPtr":[{"name":1,"other":"a"},{"name":3}]},"d":"add map to merging list by pointer","k":"raw","m":{"mergeItemPtr":[{"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"name":1}]},"r":{"mergeItemPtr":[{"name":1,"other":"a"},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]}}
{"c":{"mergeItemPtr":[{"name":3}]},"d":"add map to merging list by pointer with conflict","k":"raw","m":{"mergeItemPtr":[{"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"name":1}]},"r":{"mergeItemPtr":[{"name":1},{"name":2},{"name":3}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1},{"name":2}]}}
{"c":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list by pointer","k":"raw","m":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"other":"a","value":1},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":"a"},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"d":"add field to map in merging list by pointer with conflict","k":"raw","m":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"value":2}],"name":1},{"name":2}]},"o":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1},{"name":2,"value":2}],"name":1},{"name":2}]},"r":{"mergeItemPtr":[{"mergeItemPtr":[{"name":1,"value":1},{"name":2,"other":"b","value":2}],"name":1,"other":"a"},{"name":2,"other":"b"}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":1,"value":1}],"name":1}]}}
{"c":{"mergingIntList":[1,2,4]},"d":"merge lists of scalars","k":"raw","m":{"mergingIntList":[1,2,3]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[1,2,3,4]},"t":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]},"w":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}}
{"c":{"mergingIntList":[1,2,3]},"d":"add duplicate field to map in merging int list","k":"raw","m":{"mergingIntList":[1,2,3]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[1,2,3]},"t":{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]},"w":{}}
{"c":{"mergingIntList":[1,4,2]},"d":"add an item in a list of primitives and preserve order","k":"raw","m":{"mergingIntList":[3,1,2]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[3,1,4,2]},"t":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]},"w":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}}
{"c":{"mergingIntList":[1,2,3]},"d":"delete an item in a list of primitives and preserve order","k":"raw","m":{"mergingIntList":[2,1]},"o":{"mergingIntList":[1,2,3]},"r":{"mergingIntList":[2,1]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"add an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":3,"value":3},{"name":1},{"name":2,"value":2}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":3,"value":3},{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"t":{"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],"mergingList":[{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":3},{"name":1},{"name":2}],"mergingList":[{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2}]},"d":"add multiple items in a list and preserve order","k":"raw","m":{"mergingList":[{"name":1},{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2}]},"r":{"mergingList":[{"name":1,"other":"a"},{"name":4,"value":4},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":4},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"d":"delete an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]},"r":{"mergingList":[{"name":2,"other":"b","value":2},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"$patch":"delete","name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"$patch":"delete","name":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"d":"change an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":3,"value":"x"},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]},"r":{"mergingList":[{"name":2,"other":"b","value":2},{"name":3,"value":"x"},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":3},{"name":1}],"mergingList":[{"name":3,"value":"x"}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":3},{"name":1}],"mergingList":[{"name":3,"value":"x"}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"other":"b","value":2},{"name":3,"value":3}]},"d":"add and delete an item in a list and preserve order","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":2,"other":"b","value":2},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"$patch":"delete","name":3}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"$patch":"delete","name":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]},"d":"set elements order in a list","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2},{"name":9}]},"d":"set elements order in a list with server-only items","k":"raw","m":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]},"o":{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]},"r":{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"},{"name":9}]},"t":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]},"w":{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":9},{"name":3,"value":3},{"name":4,"value":4}]},"d":"set elements order in a list with server-only items 2","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]},"r":{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":9},{"name":4,"value":4},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}}
{"c":{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":7},{"name":9},{"name":8},{"name":3,"value":3},{"name":4,"value":4}]},"d":"set elements order in a list with server-only items 3","k":"raw","m":{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]},"o":{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]},"r":{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":7},{"name":9},{"name":8},{"name":4,"value":4},{"name":3,"value":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}}
{"c":{"mergingIntList":[1,2]},"d":"add an item in a int list and preserve order","k":"raw","m":{"mergingIntList":[3,1,2]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[3,1,2]},"t":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]},"w":{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}}
{"c":{"mergingIntList":[1,2]},"d":"add multiple items in a int list and preserve order","k":"raw","m":{"mergingIntList":[1,4,2,3]},"o":{"mergingIntList":[1,2]},"r":{"mergingIntList":[1,4,2,3]},"t":{"$setElementOrder/mergingIntList":[1,4,2,3],"mergingIntList":[4,3]},"w":{"$setElementOrder/mergingIntList":[1,4,2,3],"mergingIntList":[4,3]}}
{"c":{"mergingIntList":[1,2,3]},"d":"delete an item in a int list and preserve order","k":"raw","m":{"mergingIntList":[2,1]},"o":{"mergingIntList":[1,3,2]},"r":{"mergingIntList":[2,1]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[2,1]}}
{"c":{"mergingIntList":[1,2,3]},"d":"add and delete an item in a int list and preserve order","k":"raw","m":{"mergingIntList":[4,2,1]},"o":{"mergingIntList":[1,3,2]},"r":{"mergingIntList":[4,2,1]},"t":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[4,2,1],"mergingIntList":[4]},"w":{"$deleteFromPrimitiveList/mergingIntList":[3],"$setElementOrder/mergingIntList":[4,2,1],"mergingIntList":[4]}}
{"c":{"mergingIntList":[1,3,4,2]},"d":"set elements order in a int list","k":"raw","m":{"mergingIntList":[4,2,3,1]},"o":{"mergingIntList":[1,3,4,2]},"r":{"mergingIntList":[4,2,3,1]},"t":{"$setElementOrder/mergingIntList":[4,2,3,1]},"w":{"$setElementOrder/mergingIntList":[4,2,3,1]}}
{"c":{"mergingIntList":[1,3,4,2,9]},"d":"set elements order in a int list with server-only items","k":"raw","m":{"mergingIntList":[4,2,3,1]},"o":{"mergingIntList":[1,3,4,2]},"r":{"mergingIntList":[4,2,3,1,9]},"t":{"$setElementOrder/mergingIntList":[4,2,3,1]},"w":{"$setElementOrder/mergingIntList":[4,2,3,1]}}
{"c":{"mergingIntList":[1,2,9,3,4]},"d":"set elements order in a int list with server-only items 2","k":"raw","m":{"mergingIntList":[2,1,4,3]},"o":{"mergingIntList":[1,2,3,4]},"r":{"mergingIntList":[2,1,9,4,3]},"t":{"$setElementOrder/mergingIntList":[2,1,4,3]},"w":{"$setElementOrder/mergingIntList":[2,1,4,3]}}
{"c":{"mergingIntList":[1,2,7,9,8,3,4]},"d":"set elements order in a int list with server-only items 3","k":"raw","m":{"mergingIntList":[2,1,4,3]},"o":{"mergingIntList":[1,2,3,4]},"r":{"mergingIntList":[2,1,7,9,8,4,3]},"t":{"$setElementOrder/mergingIntList":[2,1,4,3]},"w":{"$setElementOrder/mergingIntList":[2,1,4,3]}}
{"c":{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]},"d":"behavior of set element order for a merging list with duplicate","k":"raw","m":{"mergingList":[{"name":2,"value":"dup1"},{"name":1},{"name":4},{"name":3},{"name":2,"value":"dup2"}]},"o":{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]},"r":{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]},"t":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]},"tr":{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]},"w":{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}}
{"c":{"mergingIntList":[1,2,3,2,4]},"d":"behavior of set element order for a merging int list with duplicate","k":"raw","m":{"mergingIntList":[2,1,4,3,2]},"o":{"mergingIntList":[1,2,3,2,4]},"r":{"mergingIntList":[2,2,1,4,3]},"t":{"$setElementOrder/mergingIntList":[2,1,4,3,2]},"tr":{"mergingIntList":[2,2,1,4,3]},"w":{"$setElementOrder/mergingIntList":[2,1,4,3,2]}}
{"c":{"retainKeysMap":{"value":"foo"}},"d":"retainKeys map should clear defaulted field","k":"raw","m":{"retainKeysMap":{"other":"bar"}},"o":{},"r":{"retainKeysMap":{"other":"bar"}},"t":{"retainKeysMap":{"other":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["other"],"other":"bar"}}}
{"c":{"retainKeysMap":{"name":"type1","value":"foo"}},"d":"retainKeys map should clear defaulted field with conflict (discriminated union)","k":"raw","m":{"retainKeysMap":{"name":"type2","other":"bar"}},"o":{},"r":{"retainKeysMap":{"name":"type2","other":"bar"}},"t":{"retainKeysMap":{"name":"type2","other":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","other"],"name":"type2","other":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo"}},"d":"retainKeys map adds a field","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","other":"a"}},"d":"retainKeys map adds a field and clear a field","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","value":"bar"}},"d":"retainKeys map deletes a field","k":"raw","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"name":"foo","value":"bar"}},"r":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["name"],"value":null}},"w":{"retainKeysMap":{"$retainKeys":["name"],"value":null}}}
{"c":{"retainKeysMap":{"name":"foo","other":"a","value":"bar"}},"d":"retainKeys map deletes a field and clears a field","k":"raw","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"name":"foo","value":"bar"}},"r":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["name"],"value":null}},"w":{"retainKeysMap":{"$retainKeys":["name"],"value":null}}}
{"c":{"retainKeysMap":{"name":"foo","other":"a","value":"bar"}},"d":"retainKeys map clears a field","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo","value":"bar"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{},"w":{"retainKeysMap":{"$retainKeys":["name","value"]}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"}}},"d":"retainKeys map nested map with no change","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"}}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key3":"c"},"value":"bar"}},"d":"retainKeys map adds a field in a nested map","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}},"d":"retainKeys map deletes a field in a nested map","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":null}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":null}}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b","key3":"c"},"value":"bar"}},"d":"retainKeys map changes a field in a nested map","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"x","key2":"b"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"a","key2":"b"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"x","key2":"b","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"x"}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"x"}}}}
{"c":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"new","key2":"b","key3":"c"},"value":"bar"}},"d":"retainKeys map changes a field in a nested map with conflict","k":"raw","m":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"modified","key2":"b"},"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"old","key2":"b"},"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","simpleMap":{"key1":"modified","key2":"b","key3":"c"},"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"modified"}}},"w":{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key1":"modified"}}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"d":"retainKeys map replaces non-merging list","k":"raw","m":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}],"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"r":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}],"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}},"w":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"d":"retainKeys map nested non-merging list with no change","k":"raw","m":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}},"d":"retainKeys map nested non-merging list with no change with conflict","k":"raw","m":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"d":"retainKeys map deletes nested non-merging list","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}}}
{"c":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}},"d":"retainKeys map delete nested non-merging list with conflict","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"name":"foo","nonMergingList":[{"name":"a"},{"name":"b"}]}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"nonMergingList":null,"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"d":"retainKeys map nested merging int list with no change","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["mergingIntList","name","value"],"$setElementOrder/mergingIntList":[1,2],"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"d":"retainKeys map adds an item in nested merging int list","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,2,4],"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,2,4,3],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,2,4],"mergingIntList":[4]}},"w":{"retainKeysMap":{"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,2,4],"mergingIntList":[4]}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3,4],"name":"foo"}},"d":"retainKeys map deletes an item in nested merging int list","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,3],"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,3,4],"name":"foo"}},"t":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3]}},"w":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3]}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3,4],"name":"foo"}},"d":"retainKeys map adds an item and deletes an item in nested merging int list","k":"raw","m":{"retainKeysMap":{"mergingIntList":[1,3,5],"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"r":{"retainKeysMap":{"mergingIntList":[1,3,5,4],"name":"foo"}},"t":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3,5],"mergingIntList":[5]}},"w":{"retainKeysMap":{"$deleteFromPrimitiveList/mergingIntList":[2],"$retainKeys":["mergingIntList","name"],"$setElementOrder/mergingIntList":[1,3,5],"mergingIntList":[5]}}}
{"c":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"d":"retainKeys map deletes nested merging int list","k":"raw","m":{"retainKeysMap":{"name":"foo"}},"o":{"retainKeysMap":{"mergingIntList":[1,2,3],"name":"foo"}},"r":{"retainKeysMap":{"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}},"w":{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo"}},"d":"retainKeys map nested merging list with no change","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name","value"],"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name","value"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}],"name":"foo"}},"d":"retainKeys map adds an item in nested merging list","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"name":"foo"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"x"}],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"foo"},{"name":"x"}],"name":"foo"}},"d":"retainKeys map changes an item in nested merging list","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"bar"}],"name":"foo"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"foo"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b","value":"bar"},{"name":"x"}],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"mergingList":[{"name":"b","value":"bar"}]}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"}],"mergingList":[{"name":"b","value":"bar"}]}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"d":"retainKeys map deletes nested merging list","k":"raw","m":{"retainKeysMap":{"name":"foo","value":"bar"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"name":"foo","value":"bar"}},"t":{"retainKeysMap":{"$retainKeys":["name","value"],"mergingList":null,"value":"bar"}},"w":{"retainKeysMap":{"$retainKeys":["name","value"],"mergingList":null,"value":"bar"}}}
{"c":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}],"name":"foo"}},"d":"retainKeys map deletes an item in nested merging list","k":"raw","m":{"retainKeysMap":{"mergingList":[{"name":"a"}],"name":"foo"}},"o":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"b"}],"name":"foo"}},"r":{"retainKeysMap":{"mergingList":[{"name":"a"},{"name":"x"}],"name":"foo"}},"t":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"$patch":"delete","name":"b"}]}},"w":{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"$patch":"delete","name":"b"}]}}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"a"}]},"d":"retainKeys list of maps clears a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"new"}]},"d":"retainKeys list of maps clears a field with conflict","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"modified"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"modified"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"old"}]},"d":"retainKeys list of maps changes a field and clear a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"modified"}]},"d":"retainKeys list of maps changes a field and clear a field with conflict","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"old"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"new"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"new"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"d":"retainKeys list of maps adds a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x"}]},"d":"retainKeys list of maps adds a field and clear a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"d":"retainKeys list of maps deletes a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}}
{"c":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x","value":"a"}]},"d":"retainKeys list of maps deletes a field and clear a field","k":"raw","m":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"o":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]},"r":{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]},"t":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]},"w":{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name"],"name":"foo","value":null}]}}
{"c":{"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}],"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}]},"d":"delete and reorder in one list, reorder in another","k":"raw","m":{"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}],"mergingList":[{"name":"b","value":"b"}]},"o":{"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}],"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}]},"r":{"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}],"mergingList":[{"name":"b","value":"b"}]},"t":{"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"$setElementOrder/mergingList":[{"name":"b"}],"mergingList":[{"$patch":"delete","name":"a"}]},"w":{"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"$setElementOrder/mergingList":[{"name":"b"}],"mergingList":[{"$patch":"delete","name":"a"}]}}
{"c":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"d":"replace RawExtension field, rest unchanched","k":"raw","m":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"o":{"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"r":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"t":{"mergingList":[{"name":1},{"name":2},{"name":3}],"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}},"tr":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"w":{"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}}}
{"c":{"mergingList":[{"name":1},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"d":"replace RawExtension field and merge list","k":"raw","m":{"mergingList":[{"name":1},{"name":2}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"o":{"mergingList":[{"name":1}],"name":"my-object","other":"current-other","replacingItem":{"Field":"Period","Some":"Generic","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"r":{"mergingList":[{"name":1},{"name":2},{"name":3}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"t":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2}],"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}},"tr":{"mergingList":[{"name":1},{"name":2}],"name":"my-object","other":"current-other","replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"},"value":"some-value"},"w":{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":2}],"replacingItem":{"Newly":"Modified","The":"RawExtension","Yaml":"Inside"}}}
"#;

/// `sortMergeListsByName`, which the Go tests apply to YAML-defined cases.
fn sort_merge_lists(v: &Value, meta: PatchMeta) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = JsonMap::new();
    for (k, v) in m {
        let sorted =
            if k == RETAIN_KEYS_DIRECTIVE || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
                match v {
                    Value::Array(items) => Value::Array(sort_scalars(items.clone())),
                    other => other.clone(),
                }
            } else if k.starts_with(SET_ELEMENT_ORDER_PREFIX) || k == DIRECTIVE_MARKER {
                v.clone()
            } else {
                let field = meta.field(k);
                match (v, field.strategy) {
                    (Value::Object(_), _) => sort_merge_lists(v, field.meta),
                    (Value::Array(items), Strategy::Merge { key }) => {
                        if items.iter().all(Value::is_object) {
                            let mut items: Vec<Value> = items
                                .iter()
                                .map(|i| sort_merge_lists(i, field.meta))
                                .collect();
                            items.sort_by_cached_key(|i| {
                                go_fmt(i.get(key.unwrap_or("")).unwrap_or(&Value::Null))
                            });
                            Value::Array(items)
                        } else {
                            Value::Array(sort_scalars(go_dedup(items.clone())))
                        }
                    }
                    _ => v.clone(),
                }
            };
        out.insert(k.clone(), sorted);
    }
    Value::Object(out)
}

fn run_k8s_case(c: &Value) -> std::result::Result<(), String> {
    let meta = PatchMeta::new(&MERGE_ITEM);
    let kind = c["k"].as_str().unwrap_or_default();
    let sorted = kind == "custom" || kind == "create";
    let prep = |key: &str| -> Option<Value> {
        c.get(key).map(|v| {
            if sorted {
                sort_merge_lists(v, meta)
            } else {
                v.clone()
            }
        })
    };
    let original = prep("o").unwrap_or(Value::Null);
    let two_way_patch = prep("t").unwrap_or(Value::Null);
    let modified = prep("m").unwrap_or(Value::Null);
    let two_way_result = prep("tr").unwrap_or_else(|| modified.clone());
    let check = |what: &str, got: &Value, want: &Value| -> std::result::Result<(), String> {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: want {want}, got {got}"))
        }
    };

    if kind == "custom" || kind == "custom_raw" {
        let applied = apply(&original, &two_way_patch, meta);
        return match (c.get("e").and_then(Value::as_str), applied) {
            (Some(want), Err(e)) if e.to_string().contains(want) => Ok(()),
            (Some(want), other) => {
                Err(format!("want an error containing {want:?}, got {other:?}"))
            }
            (None, Ok(got)) => check("apply", &got, &two_way_result),
            (None, Err(e)) => Err(format!("apply failed: {e}")),
        };
    }

    let patch = two_way(&original, &modified, meta).map_err(|e| format!("two_way: {e}"))?;
    check("two_way", &patch, &two_way_patch)?;
    let got = apply(&original, &patch, meta).map_err(|e| format!("apply two-way: {e}"))?;
    check("two-way result", &got, &two_way_result)?;

    let Some(current) = prep("c") else {
        return Ok(());
    };
    let three_way_patch = prep("w").unwrap_or(Value::Null);
    let result = prep("r").unwrap_or(Value::Null);
    let patch = three_way(Some(&original), &modified, &current, meta)
        .map_err(|e| format!("three_way: {e}"))?;
    check("three_way", &patch, &three_way_patch)?;
    let got = apply(&current, &patch, meta).map_err(|e| format!("apply three-way: {e}"))?;
    check("three-way result", &got, &result)
}

#[test]
fn kubernetes_reference_cases() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in K8S_CASES.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("test data is JSON");
        count += 1;
        if let Err(e) = run_k8s_case(&case) {
            failures.push(format!("{}: {e}", case["d"]));
        }
    }
    assert_eq!(count, 142);
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// -----------------------------------------------------------------------
// Built-in kinds and wire examples

fn deployment() -> PatchMeta {
    builtin("apps", "Deployment").expect("Deployment is built in")
}

fn pod() -> PatchMeta {
    builtin("", "Pod").expect("Pod is built in")
}

#[test]
fn kubectl_apply_deployment_edited_twice() {
    let last_applied = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}
    });
    let mut modified = last_applied.clone();
    modified["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let mut current = last_applied.clone();
    current["metadata"]["uid"] = json!("u-1");
    current["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"});
    current["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "app", "image": "nginx:1", "imagePullPolicy": "IfNotPresent",
         "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"name": "sidecar", "image": "envoy:1"}
    ]);
    current["status"] = json!({"replicas": 1});

    let patch =
        three_way(Some(&last_applied), &modified, &current, deployment()).expect("three-way");
    let wire = json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"nginx:2","name":"app"}]}}}});
    assert_eq!(patch, wire);
    assert_eq!(
        serde_json::to_string(&patch).expect("serializes"),
        r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"image":"nginx:2","name":"app"}]}}}}"#
    );

    let result = apply(&current, &wire, deployment()).expect("apply");
    let mut want = current.clone();
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert_eq!(result, want);

    // The same body applied as a JSON merge patch would have dropped the
    // sidecar and the live-only fields of the app container.
    let as_merge = super::super::merge::apply(&current, &wire);
    assert_eq!(
        as_merge["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn kubectl_apply_removes_a_container_and_an_env_var() {
    let last_applied = json!({"spec": {"containers": [
        {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        {"name": "old", "image": "o:1"}
    ]}});
    let modified = json!({"spec": {"containers": [
        {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]}
    ]}});
    let current = json!({"spec": {"containers": [
        {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "live"}]},
        {"name": "old", "image": "o:1"},
        {"name": "injected", "image": "i:1"}
    ]}});
    let patch = three_way(Some(&last_applied), &modified, &current, pod()).expect("three-way");
    assert_eq!(
        patch,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [
                {"name": "app", "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "B", "$patch": "delete"}]},
                {"name": "old", "$patch": "delete"}
            ]
        }})
    );
    let result = apply(&current, &patch, pod()).expect("apply");
    assert_eq!(
        result,
        json!({"spec": {"containers": [
            {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "live"}]},
            {"name": "injected", "image": "i:1"}
        ]}})
    );
}

#[test]
fn finalizers_are_a_set() {
    let meta = builtin("", "ConfigMap").expect("built in");
    let live = json!({"metadata": {"name": "c", "finalizers": ["a", "b"]}, "data": {"k": "v"}});

    let added = apply(
        &live,
        &json!({"metadata": {"finalizers": ["c", "a"]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(added["metadata"]["finalizers"], json!(["c", "a", "b"]));

    let removed = apply(
        &live,
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(removed["metadata"]["finalizers"], json!(["b"]));
    assert_eq!(removed["data"], json!({"k": "v"}));

    let both = apply(
        &live,
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["a", "d"]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(both["metadata"]["finalizers"], json!(["a", "d", "b"]));

    let replaced =
        apply(&live, &json!({"metadata": {"finalizers": null}}), meta).expect("apply");
    assert!(replaced["metadata"].get("finalizers").is_none());

    // Deleting from a list that is not there is a no-op.
    let none = apply(
        &json!({"metadata": {}}),
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(none, json!({"metadata": {}}));

    // kubectl apply removing one finalizer, with one added by a controller.
    let last = json!({"metadata": {"finalizers": ["a", "b"]}});
    let modified = json!({"metadata": {"finalizers": ["b"]}});
    let current = json!({"metadata": {"finalizers": ["a", "b", "ctrl"]}});
    let patch = three_way(Some(&last), &modified, &current, meta).expect("three-way");
    assert_eq!(
        patch,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/finalizers": ["b"]}})
    );
    assert_eq!(
        apply(&current, &patch, meta).expect("apply")["metadata"]["finalizers"],
        json!(["b", "ctrl"])
    );
}

#[test]
fn retain_keys_on_deployment_strategy() {
    let live = json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
    // The user never set a strategy, then switches to Recreate.
    let last = json!({"spec": {"replicas": 2}});
    let modified = json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}});
    let patch = three_way(Some(&last), &modified, &live, deployment()).expect("three-way");
    assert_eq!(
        patch,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    );
    let result = apply(&live, &patch, deployment()).expect("apply");
    assert_eq!(
        result,
        json!({"spec": {"replicas": 2, "strategy": {"type": "Recreate"}}})
    );

    // Without the directive (a hand-written patch) rollingUpdate survives,
    // as in Kubernetes (the server's validation would then reject it).
    let plain = apply(
        &live,
        &json!({"spec": {"strategy": {"type": "Recreate"}}}),
        deployment(),
    )
    .expect("apply");
    assert_eq!(
        plain["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
        json!("25%")
    );

    // A patch may not set a field its $retainKeys list omits.
    let bad = apply(
        &live,
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
        deployment(),
    );
    assert_eq!(
        bad.map_err(|e| (e.kind, e.path)),
        Err((ErrorKind::InvalidDirective, ".spec.strategy".to_string()))
    );
}

#[test]
fn volumes_retain_keys_per_item() {
    let live = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "secret": {"secretName": "s"}}]}});
    let last = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}});
    let modified = json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "cm"}}]}});
    let patch = three_way(Some(&last), &modified, &live, pod()).expect("three-way");
    let result = apply(&live, &patch, pod()).expect("apply");
    assert_eq!(
        result,
        json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "secret": {"secretName": "s"}}]}})
    );
}

#[test]
fn patch_directives() {
    let meta = pod();
    let live = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}], "nodeSelector": {"k": "v", "z": "w"}}});

    let replaced = apply(
        &live,
        &json!({"spec": {"containers": [{"name": "c", "image": "z"}, {"$patch": "replace"}]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(
        replaced["spec"]["containers"],
        json!([{"name": "c", "image": "z"}])
    );

    let deleted = apply(
        &live,
        &json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(
        deleted["spec"]["containers"],
        json!([{"name": "b", "image": "y"}])
    );

    let map_replaced = apply(
        &live,
        &json!({"spec": {"nodeSelector": {"$patch": "replace", "n": "1"}}}),
        meta,
    )
    .expect("apply");
    assert_eq!(map_replaced["spec"]["nodeSelector"], json!({"n": "1"}));

    let map_deleted = apply(
        &live,
        &json!({"spec": {"nodeSelector": {"$patch": "delete"}}}),
        meta,
    )
    .expect("apply");
    assert_eq!(map_deleted["spec"]["nodeSelector"], json!({}));

    let map_merged = apply(
        &live,
        &json!({"spec": {"nodeSelector": {"$patch": "merge", "n": "1"}}}),
        meta,
    )
    .expect("apply");
    assert_eq!(
        map_merged["spec"]["nodeSelector"],
        json!({"k": "v", "z": "w", "n": "1"})
    );

    let reordered = apply(
        &live,
        &json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
        meta,
    )
    .expect("apply");
    assert_eq!(
        reordered["spec"]["containers"],
        json!([{"name": "b", "image": "y"}, {"name": "a", "image": "x"}])
    );

    // Directives sent for a field the live object lacks are resolved,
    // not stored.
    let fresh = apply(
        &json!({}),
        &json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "env": [{"name": "E", "value": null}]}, {"name": "gone", "$patch": "delete"}], "nodeSelector": {"x": null, "y": "1"}}}),
        meta,
    )
    .expect("apply");
    assert_eq!(
        fresh,
        json!({"spec": {"containers": [{"name": "a", "env": [{"name": "E"}]}], "nodeSelector": {"y": "1"}}})
    );
}

#[test]
fn errors_name_the_path() {
    let meta = pod();
    let live = json!({"spec": {"containers": [{"name": "a"}]}});
    let cases = [
        (
            json!({"spec": {"containers": [{"image": "x"}]}}),
            ErrorKind::MissingMergeKey,
            ".spec.containers[0]",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
            ErrorKind::InvalidDirective,
            ".spec.containers[0]",
        ),
        (
            json!({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}),
            ErrorKind::InvalidDirective,
            ".spec.containers[0]",
        ),
        (
            json!({"spec": {"$patch": 5}}),
            ErrorKind::InvalidDirective,
            ".spec",
        ),
        (
            json!({"spec": {"containers": ["a"]}}),
            ErrorKind::WrongType,
            ".spec.containers",
        ),
        (
            json!({"spec": {"containers": [[1]]}}),
            ErrorKind::WrongType,
            ".spec.containers",
        ),
        (
            json!({"spec": {"containers": [null]}}),
            ErrorKind::WrongType,
            ".spec.containers",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}),
            ErrorKind::InvalidDirective,
            ".spec.containers",
        ),
        (
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "a", "image": "i"}]}}),
            ErrorKind::InvalidDirective,
            ".spec.containers",
        ),
        (
            json!({"spec": {"$setElementOrderX/containers": []}}),
            ErrorKind::InvalidDirective,
            ".spec",
        ),
        (
            json!({"spec": {"$deleteFromPrimitiveList/containers": [{"name": "a"}]}}),
            ErrorKind::InvalidDirective,
            ".spec.containers",
        ),
        (
            json!({"spec": {"$retainKeys": "nope"}}),
            ErrorKind::InvalidDirective,
            ".spec",
        ),
        (
            json!({"metadata": {"finalizers": ["a", 1]}}),
            ErrorKind::WrongType,
            ".metadata.finalizers",
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            ErrorKind::InvalidDirective,
            ".metadata.finalizers",
        ),
    ];
    for (patch, kind, path) in cases {
        let err = apply(&live, &patch, meta).expect_err(&patch.to_string());
        assert_eq!(
            (err.kind, err.path.as_str()),
            (kind, path),
            "{patch}: {err}"
        );
    }
    let err = apply(&json!([1]), &json!({}), meta).expect_err("array original");
    assert_eq!((err.kind, err.path.as_str()), (ErrorKind::WrongType, "."));
    assert!(apply(&json!({}), &json!("x"), meta).is_err());
    assert!(three_way(None, &json!(1), &json!({}), meta).is_err());
    assert!(apply(&json!(null), &json!(null), meta).is_ok());
    assert!(err.to_string().starts_with(".: "));
}

#[test]
fn untyped_fields_use_defaults() {
    // TestUnknownField: Kubernetes refuses fields its Go types lack; we
    // merge maps and replace lists.
    let meta = PatchMeta::UNTYPED;
    let original =
        json!({"array": [1, 2, 3], "complex": {"nested": true}, "name": "foo", "scalar": true});
    let modified = json!({"array": [1, 2, 3], "complex": {"nested": false}, "name": "foo", "scalar": true});
    assert_eq!(
        two_way(&original, &modified, meta).expect("two-way"),
        json!({"complex": {"nested": false}})
    );
    let removed = three_way(Some(&json!({"name": "foo", "scalar": true, "complex": {"nested": true}})), &json!({"name": "foo"}),
        &json!({"name": "foo", "scalar": true, "complex": {"nested": true}, "array": [1, 2, 3]}), meta).expect("three-way");
    assert_eq!(removed, json!({"complex": null, "scalar": null}));
    let live = json!({"l": [1, 2], "m": {"a": 1}});
    assert_eq!(
        apply(&live, &json!({"l": [3], "m": {"b": 2}}), meta).expect("apply"),
        json!({"l": [3], "m": {"a": 1, "b": 2}})
    );
}

#[test]
fn number_precision_is_kept() {
    // TestNumberConversion.
    for (old, new) in [
        (
            json!({"int32": 2147483647}),
            json!({"int32": 2147483647, "name": "newname"}),
        ),
        (
            json!({"int64": 9223372036854775807i64}),
            json!({"int64": 9223372036854775807i64, "name": "newname"}),
        ),
        (
            json!({"float32": 3.4028234663852886e38}),
            json!({"float32": 3.4028234663852886e38, "name": "newname"}),
        ),
        (
            json!({"float64": 1.7976931348623157e308}),
            json!({"float64": 1.7976931348623157e308, "name": "newname"}),
        ),
    ] {
        let patch = two_way(&old, &new, PatchMeta::UNTYPED).expect("two-way");
        assert_eq!(patch, json!({"name": "newname"}));
        assert_eq!(apply(&old, &patch, PatchMeta::UNTYPED).expect("apply"), new);
    }
}

#[test]
fn go_formatting() {
    // Float text itself is `gofmt::go_float_v`'s, tested there.
    assert_eq!(go_fmt(&json!(1.5e-7)), "1.5e-07");
    assert_eq!(go_fmt(&json!(80)), "80");
    assert_eq!(go_fmt(&json!(null)), "<nil>");
    assert_eq!(
        go_fmt(&json!({"b": 1, "a": [true, "x"]})),
        "map[a:[true x] b:1]"
    );
    assert_eq!(
        go_dedup(vec![json!(1), json!(1), json!(2), json!(3)]),
        vec![json!(1), json!(3), json!(2)]
    );
}

#[test]
fn ports_merge_on_numeric_keys() {
    let svc = builtin("", "Service").expect("built in");
    let live = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}], "clusterIP": "10.0.0.1"}});
    let last = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let modified =
        json!({"spec": {"ports": [{"port": 9090}, {"port": 80, "targetPort": 8081}]}});
    let patch = three_way(Some(&last), &modified, &live, svc).expect("three-way");
    // Deletions follow Go's %v ordering; items follow the modified order.
    assert_eq!(
        patch,
        json!({"spec": {
            "$setElementOrder/ports": [{"port": 9090}, {"port": 80}],
            "ports": [{"port": 9090}, {"port": 80, "targetPort": 8081}, {"port": 443, "$patch": "delete"}]
        }})
    );
    let result = apply(&live, &patch, svc).expect("apply");
    assert_eq!(
        result,
        json!({"spec": {"ports": [{"port": 9090}, {"port": 80, "targetPort": 8081}], "clusterIP": "10.0.0.1"}})
    );
}

// -----------------------------------------------------------------------
// Properties

/// The three-way contract, aware of merge lists: `result` has everything
/// in `modified`, nothing that only `original` had, and `current`'s
/// unmentioned fields and list items untouched.
fn check_contract(
    result: &Value,
    original: Option<&Value>,
    modified: &Value,
    current: Option<&Value>,
    field: FieldMeta,
    at: &str,
) -> std::result::Result<(), String> {
    match (modified, field.strategy) {
        (Value::Object(_), Strategy::Default | Strategy::Merge { .. }) => {
            check_object(result, original, modified, current, field.meta, at)
        }
        (Value::Array(items), Strategy::Merge { key: Some(key) })
            if items.iter().all(Value::is_object) =>
        {
            let Value::Array(got) = result else {
                return Err(format!("{at}: expected a list, got {result}"));
            };
            let find = |list: Option<&Value>, k: &Value| -> Option<Value> {
                list.and_then(Value::as_array)?
                    .iter()
                    .find(|i| i.get(key) == Some(k))
                    .cloned()
            };
            let keys_of = |list: Option<&Value>| -> Vec<Value> {
                list.and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(|i| i.get(key).cloned()).collect())
                    .unwrap_or_default()
            };
            let modified_keys = keys_of(Some(modified));
            let original_keys = keys_of(original);
            for item in items {
                let k = item.get(key).cloned().unwrap_or(Value::Null);
                let r = find(Some(result), &k)
                    .ok_or_else(|| format!("{at}[{key}={k}]: missing"))?;
                check_object(
                    &r,
                    find(original, &k).as_ref(),
                    item,
                    find(current, &k).as_ref(),
                    field.meta,
                    &format!("{at}[{key}={k}]"),
                )?;
            }
            for k in &original_keys {
                if !modified_keys.contains(k) && find(Some(result), k).is_some() {
                    return Err(format!(
                        "{at}[{key}={k}]: removed from the configuration but still present"
                    ));
                }
            }
            for item in current.and_then(Value::as_array).into_iter().flatten() {
                let Some(k) = item.get(key) else { continue };
                if !modified_keys.contains(k)
                    && !original_keys.contains(k)
                    && !got.contains(item)
                {
                    return Err(format!("{at}[{key}={k}]: live-only item changed"));
                }
            }
            Ok(())
        }
        (Value::Array(items), Strategy::Merge { key: None }) => {
            let Value::Array(got) = result else {
                return Err(format!("{at}: expected a list, got {result}"));
            };
            let as_list =
                |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
            let (original, current) = (as_list(original), as_list(current));
            for v in items {
                if !got.contains(v) {
                    return Err(format!("{at}: {v} missing"));
                }
            }
            for v in &original {
                if !items.contains(v) && got.contains(v) {
                    return Err(format!(
                        "{at}: {v} removed from the configuration but still present"
                    ));
                }
            }
            for v in &current {
                if !items.contains(v) && !original.contains(v) && !got.contains(v) {
                    return Err(format!("{at}: live-only {v} dropped"));
                }
            }
            Ok(())
        }
        _ if result == modified => Ok(()),
        _ => Err(format!("{at}: expected {modified}, got {result}")),
    }
}

fn check_object(
    result: &Value,
    original: Option<&Value>,
    modified: &Value,
    current: Option<&Value>,
    meta: PatchMeta,
    at: &str,
) -> std::result::Result<(), String> {
    let (Value::Object(r), Value::Object(m)) = (result, modified) else {
        return Err(format!("{at}: expected an object, got {result}"));
    };
    let o = original.and_then(Value::as_object);
    let c = current.and_then(Value::as_object);
    for (k, mv) in m {
        let rv = r.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
        check_contract(
            rv,
            o.and_then(|o| o.get(k)),
            mv,
            c.and_then(|c| c.get(k)),
            meta.field(k),
            &format!("{at}.{k}"),
        )?;
    }
    for k in o.into_iter().flat_map(|o| o.keys()) {
        if !m.contains_key(k) && r.contains_key(k) {
            return Err(format!(
                "{at}.{k}: removed from the configuration but still present"
            ));
        }
    }
    for (k, cv) in c.into_iter().flatten() {
        if !m.contains_key(k) && !o.is_some_and(|o| o.contains_key(k)) && r.get(k) != Some(cv) {
            return Err(format!("{at}.{k}: live-only field changed"));
        }
    }
    Ok(())
}

/// Small untagged subtrees over the keys a..d.
fn arb_misc(with_null: bool) -> BoxedStrategy<Value> {
    arb_leaf(with_null.then_some(5))
        .prop_recursive(2, 12, 3, |inner| {
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from),
                inner,
                0..3,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
        .boxed()
}

/// A keyed list with unique keys drawn from `keys`, in random order.
fn arb_keyed(
    key: &'static str,
    keys: Vec<Value>,
    item: BoxedStrategy<JsonMap>,
) -> BoxedStrategy<Value> {
    prop::collection::vec((prop::sample::select(keys), item), 0..4)
        .prop_map(move |entries| {
            let mut seen = Vec::new();
            let mut list = Vec::new();
            for (k, mut body) in entries {
                if seen.contains(&k) {
                    continue;
                }
                seen.push(k.clone());
                body.insert(key.to_string(), k);
                list.push(Value::Object(body));
            }
            Value::Array(list)
        })
        .boxed()
}

fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn arb_container(with_null: bool) -> BoxedStrategy<JsonMap> {
    let env_item = prop::option::of(prop::sample::select(vec!["1", "2"]))
        .prop_map(|v| {
            object(vec![("value", v.map(Value::from))])
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .boxed();
    let port_item = prop::option::of(prop::sample::select(vec!["TCP", "UDP"]))
        .prop_map(|v| {
            object(vec![("protocol", v.map(Value::from))])
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .boxed();
    (
        prop::option::of(prop::sample::select(vec!["img:1", "img:2"])),
        prop::option::weighted(
            0.7,
            arb_keyed(
                "name",
                vec![json!("E1"), json!("E2"), json!("E3")],
                env_item,
            ),
        ),
        prop::option::weighted(
            0.7,
            arb_keyed(
                "containerPort",
                vec![json!(80), json!(443), json!(8080)],
                port_item,
            ),
        ),
        prop::option::of(arb_misc(with_null)),
    )
        .prop_map(|(image, env, ports, extra)| {
            object(vec![
                ("image", image.map(Value::from)),
                ("env", env),
                ("ports", ports),
                ("a", extra),
            ])
            .as_object()
            .cloned()
            .unwrap_or_default()
        })
        .boxed()
}

/// Pod-shaped documents: labels, finalizers, keyed containers with keyed
/// env and ports, and untagged extras; `unique` keeps finalizers unique
/// (Go deletes an item that appears twice in the last-applied list even
/// if the new configuration keeps it once).
fn arb_pod(with_null: bool, unique: bool) -> BoxedStrategy<Value> {
    let names = vec![json!("app"), json!("db"), json!("side"), json!("web")];
    let finalizers = prop::collection::vec(prop::sample::select(vec!["f1", "f2", "f3"]), 0..4)
        .prop_map(move |mut f| {
            if unique {
                let mut seen = Vec::new();
                f.retain(|x| {
                    if seen.contains(x) {
                        false
                    } else {
                        seen.push(*x);
                        true
                    }
                });
            }
            Value::from(f)
        });
    let metadata = (
        prop::option::of(prop::collection::btree_map(
            prop::sample::select(vec!["l1", "l2"]).prop_map(String::from),
            prop::sample::select(vec!["x", "y"]).prop_map(Value::from),
            0..3,
        )),
        prop::option::weighted(0.8, finalizers),
    )
        .prop_map(|(labels, finalizers)| {
            object(vec![
                (
                    "labels",
                    labels.map(|l| Value::Object(l.into_iter().collect())),
                ),
                ("finalizers", finalizers),
            ])
        });
    let spec = (
        prop::option::weighted(
            0.9,
            arb_keyed("name", names.clone(), arb_container(with_null)),
        ),
        prop::option::of(arb_keyed("name", names, arb_container(with_null))),
        prop::option::of(arb_misc(with_null)),
    )
        .prop_map(|(containers, init, extra)| {
            object(vec![
                ("containers", containers),
                ("initContainers", init),
                ("a", extra),
            ])
        });
    (
        prop::option::weighted(0.9, metadata),
        prop::option::weighted(0.9, spec),
        prop::option::of(arb_misc(with_null)),
    )
        .prop_map(|(metadata, spec, extra)| {
            object(vec![("metadata", metadata), ("spec", spec), ("b", extra)])
        })
        .boxed()
}

/// Anything, with directive keys sprinkled in, for the no-panic property.
fn arb_wild() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-2i64..3).prop_map(Value::from),
        Just(json!(1.5)),
        prop::sample::select(vec!["delete", "replace", "merge", "x", "name", "a"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "$patch",
                    "$retainKeys",
                    "$setElementOrder/containers",
                    "$deleteFromPrimitiveList/finalizers",
                    "$setElementOrder/finalizers",
                    "$deleteFromPrimitiveList/containers",
                    "$setElementOrder",
                    "$deleteFromPrimitiveList/",
                    "containers",
                    "finalizers",
                    "env",
                    "ports",
                    "name",
                    "containerPort",
                    "metadata",
                    "spec",
                    "a",
                ])
                .prop_map(String::from),
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn root_field(meta: PatchMeta) -> FieldMeta {
    FieldMeta {
        strategy: Strategy::Default,
        retain_keys: false,
        meta,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn three_way_contract(
        original in prop::option::of(arb_pod(true, true)),
        modified in arb_pod(false, true),
        current in arb_pod(true, false),
    ) {
        let patch = three_way(original.as_ref(), &modified, &current, pod())
            .map_err(|e| TestCaseError::fail(format!("three_way: {e}")))?;
        let result = apply(&current, &patch, pod())
            .map_err(|e| TestCaseError::fail(format!("apply: {e}\npatch: {patch}")))?;
        check_contract(&result, original.as_ref(), &modified, Some(&current), root_field(pod()), "")
            .map_err(|e| TestCaseError::fail(format!("{e}\npatch: {patch}\nresult: {result}")))?;
        // Applying the same patch again changes nothing more.
        prop_assert_eq!(apply(&result, &patch, pod()).map_err(|e| TestCaseError::fail(e.to_string()))?, result);
    }

    #[test]
    fn two_way_round_trips(original in arb_pod(false, true), modified in arb_pod(false, true)) {
        let patch = two_way(&original, &modified, pod()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut result = apply(&original, &patch, pod())
            .map_err(|e| TestCaseError::fail(format!("apply: {e}\npatch: {patch}")))?;
        // Go compares a primitive list with the *sorted* original, so a
        // reordering into sorted order is not sent: compare finalizers as sets.
        let mut modified = modified;
        for doc in [&mut result, &mut modified] {
            if let Some(Value::Array(f)) = doc.pointer_mut("/metadata/finalizers") {
                f.sort_by_cached_key(go_fmt);
            }
        }
        prop_assert_eq!(result, modified, "patch: {}", patch);
    }

    #[test]
    fn never_panics(a in arb_wild(), b in arb_wild(), c in arb_wild()) {
        for meta in [pod(), PatchMeta::UNTYPED, PatchMeta::new(&MERGE_ITEM)] {
            let _ = apply(&a, &b, meta);
            let _ = two_way(&a, &b, meta);
            if let Ok(patch) = three_way(Some(&a), &b, &c, meta) {
                let _ = apply(&c, &patch, meta);
            }
            if a.is_object() {
                prop_assert_eq!(apply(&a, &json!({}), meta).ok(), Some(a.clone()));
            }
        }
    }
}
