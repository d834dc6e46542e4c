package cpu

import (
	"gpurun/runtime/backend"
	"gpurun/runtime/quant"
)

// Embed gathers token rows of the embedding table, dequantizing each:
// dst[T, d] = table[ids[t], :], d = table.Cols().
func (b *Backend) Embed(dst backend.Buffer, table backend.Weight, ids []int32) {
	if b.err != nil || b.fail(backend.CheckEmbed(dst, table, ids)) {
		return
	}
	w := weight(table)
	out := f32s(dst)
	for t, id := range ids {
		if b.fail(quant.DequantizeRow(w.typ, w.row(int(id)), out[t*w.cols:(t+1)*w.cols])) {
			return
		}
	}
}
