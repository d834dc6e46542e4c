package gguf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gpurun/runtime/fixtures"
	"gpurun/runtime/quant"
)

// TestWriteSeedCorpus regenerates testdata/fuzz/FuzzParse from the shared
// fixtures and hand-made corruptions. It runs only when asked:
//
//	GPURUN_WRITE_SEEDS=1 go test -run TestWriteSeedCorpus ./runtime/gguf
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("GPURUN_WRITE_SEEDS") == "" {
		t.Skip("set GPURUN_WRITE_SEEDS=1 to regenerate the seed corpus")
	}
	seeds := map[string][]byte{}
	stories := fixtures.Read(t, "stories260K/stories260K.gguf")
	sf, err := Parse(stories)
	if err != nil {
		t.Fatal(err)
	}
	// The real header and tensor table, without the weights.
	seeds["stories260K-header"] = stories[:sf.DataOffset]
	// A valid miniature with the real tokenizer metadata and two tensors.
	w := NewWriter()
	for _, kv := range sf.KVs {
		w.AddKV(kv.Key, kv.Value)
	}
	emb := sf.Tensor("output_norm.weight")
	w.AddTensor("output_norm.weight", emb.Type, emb.Dims, emb.Data)
	w.AddTensor("q.weight", quant.Q4_1, []uint64{32, 2}, make([]byte, 40))
	seeds["stories260K-mini"] = w.Bytes()
	// Vocab-only files: the start of one (arrays of strings cut short).
	vocab := fixtures.Read(t, "llama-vocab/ggml-vocab-gpt-2.gguf")
	seeds["gpt2-vocab-prefix"] = vocab[:4096]
	tiny := fixtures.Read(t, "tiny-random/llama-2-tiny-random.gguf")
	tf, err := Parse(tiny)
	if err != nil {
		t.Fatal(err)
	}
	seeds["tiny-random-table"] = tiny[tf.DataOffset-2048 : tf.DataOffset]
	good := small().Bytes()
	seeds["small-all-types"] = good
	seeds["version1"] = patch(good, 4, uint32(1))
	seeds["bigendian"] = patch(good, 4, uint32(0x03000000))
	seeds["huge-kv-count"] = patch(good, 16, uint64(1)<<60)
	seeds["huge-tensor-count"] = patch(good, 8, uint64(1)<<60)
	seeds["truncated-data"] = good[:len(good)-40]

	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
