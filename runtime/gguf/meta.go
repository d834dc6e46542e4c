package gguf

import (
	"fmt"
	"math"
)

// KeyError reports a metadata key that is missing or has the wrong type.
type KeyError struct {
	Key  string
	Want string // the wanted type, e.g. "uint32"
	Got  string // the type found; "" when the key is missing
}

func (e *KeyError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("gguf: metadata key %q is missing", e.Key)
	}
	return fmt.Sprintf("gguf: metadata key %q has type %s, want %s", e.Key, e.Got, e.Want)
}

// Get returns the value stored under key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kv[key]
	if !ok {
		return Value{}, false
	}
	return f.KVs[i].Value, true
}

// Has reports whether key is present.
func (f *File) Has(key string) bool { _, ok := f.kv[key]; return ok }

// Tensor returns the tensor named name, or nil.
func (f *File) Tensor(name string) *Tensor {
	i, ok := f.tensors[name]
	if !ok {
		return nil
	}
	return f.Tensors[i]
}

// Architecture is general.architecture ("llama", "gpt2", ...).
func (f *File) Architecture() (string, error) { return f.String("general.architecture") }

// ArchKey prefixes name with the file's architecture: ArchKey("block_count")
// is "llama.block_count" in a Llama file. Without general.architecture the
// name is returned unchanged, so lookups fail naming a sensible key.
func (f *File) ArchKey(name string) string {
	if a, err := f.Architecture(); err == nil {
		return a + "." + name
	}
	return name
}

func lookup[T any](f *File, key, want string) (T, error) {
	var zero T
	v, ok := f.Get(key)
	if !ok {
		return zero, &KeyError{Key: key, Want: want}
	}
	x, ok := v.V.(T)
	if !ok {
		return zero, &KeyError{Key: key, Want: want, Got: v.TypeName()}
	}
	return x, nil
}

// String returns a string value.
func (f *File) String(key string) (string, error) { return lookup[string](f, key, "string") }

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) { return lookup[bool](f, key, "bool") }

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, error) {
	return lookup[[]string](f, key, "array[string]")
}

// Float32s returns an array of float32.
func (f *File) Float32s(key string) ([]float32, error) {
	return lookup[[]float32](f, key, "array[float32]")
}

// Int32s returns an array of int32 (token types are stored so).
func (f *File) Int32s(key string) ([]int32, error) {
	return lookup[[]int32](f, key, "array[int32]")
}

// Uint32 returns an integer value that fits in a uint32. Any integer type is
// accepted, since writers disagree on the width of counts.
func (f *File) Uint32(key string) (uint32, error) {
	v, ok := f.Get(key)
	if !ok {
		return 0, &KeyError{Key: key, Want: "uint32"}
	}
	x, ok := v.asUint64()
	if !ok || x > math.MaxUint32 {
		got := v.TypeName()
		if ok {
			got = fmt.Sprintf("%s (value %d too large)", got, x)
		} else if v.Type != TypeArray && v.Type != TypeString {
			got = fmt.Sprintf("%s (value %v)", got, v.V)
		}
		return 0, &KeyError{Key: key, Want: "uint32", Got: got}
	}
	return uint32(x), nil
}

// Float32 returns a floating-point value (float32, or float64 converted).
func (f *File) Float32(key string) (float32, error) {
	v, ok := f.Get(key)
	if !ok {
		return 0, &KeyError{Key: key, Want: "float32"}
	}
	switch x := v.V.(type) {
	case float32:
		return x, nil
	case float64:
		return float32(x), nil
	}
	return 0, &KeyError{Key: key, Want: "float32", Got: v.TypeName()}
}

// Uint32Or is Uint32, but a missing key yields def. A mistyped key is still an error.
func (f *File) Uint32Or(key string, def uint32) (uint32, error) {
	if !f.Has(key) {
		return def, nil
	}
	return f.Uint32(key)
}

// Float32Or is Float32, but a missing key yields def.
func (f *File) Float32Or(key string, def float32) (float32, error) {
	if !f.Has(key) {
		return def, nil
	}
	return f.Float32(key)
}

// StringOr is String, but a missing key yields def.
func (f *File) StringOr(key, def string) (string, error) {
	if !f.Has(key) {
		return def, nil
	}
	return f.String(key)
}

// BoolOr is Bool, but a missing key yields def.
func (f *File) BoolOr(key string, def bool) (bool, error) {
	if !f.Has(key) {
		return def, nil
	}
	return f.Bool(key)
}
