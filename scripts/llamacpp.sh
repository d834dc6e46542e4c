# llamacpp.sh — sourced by the scripts that run llama.cpp's own tools next to
# gpurun (bench-vs-llamacpp.sh, quantize-llamacpp.sh). llama.cpp is not part of
# this repository: a tool that is missing is built from the llama.cpp that the
# llama-cpp-python sdist on PyPI vendors, with CMake, into a cache outside the
# repository (several minutes on 2 cores the first time, seconds per extra tool).
#
#   llamacpp_tool NAME ISA   prints the path of llama.cpp's tool NAME (llama-bench,
#                            llama-quantize), built for ISA: native (everything this
#                            CPU runs) or avx2 (AVX2 + FMA + F16C only)
# Environment:
#   GPURUN_CACHE      cache directory (default ~/.cache/gpurun)
#   LLAMA_CPP_PYTHON  llama-cpp-python version whose llama.cpp is built (default 0.3.36)

LLAMACPP_VERSION=${LLAMA_CPP_PYTHON:-0.3.36}
LLAMACPP_CACHE=${GPURUN_CACHE:-$HOME/.cache/gpurun}/llama.cpp/$LLAMACPP_VERSION

llamacpp_log() { echo "$(basename "$0" .sh): $*" >&2; }

# llamacpp_build DIR TARGET EXTRA_CFLAGS [CMAKE_ARGS...] (default -DGGML_NATIVE=ON)
llamacpp_build() {
	local dir=$1 target=$2 cflags=$3 src=$LLAMACPP_CACHE/src/llama_cpp_python-$LLAMACPP_VERSION/vendor/llama.cpp
	shift 3
	local isa=("$@")
	[[ ${#isa[@]} -gt 0 ]] || isa=(-DGGML_NATIVE=ON)
	if [[ ! -f $src/CMakeLists.txt ]]; then
		llamacpp_log "downloading the llama-cpp-python==$LLAMACPP_VERSION sdist (vendors llama.cpp) into $LLAMACPP_CACHE/src"
		mkdir -p "$LLAMACPP_CACHE/src"
		python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
			"llama-cpp-python==$LLAMACPP_VERSION" -d "$LLAMACPP_CACHE/src" >&2
		tar -xzf "$LLAMACPP_CACHE/src/llama_cpp_python-$LLAMACPP_VERSION.tar.gz" -C "$LLAMACPP_CACHE/src"
	fi
	llamacpp_log "building $target in $dir (log in $dir.log)"
	{
		cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
			"${isa[@]}" -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
			-DLLAMA_BUILD_SERVER=OFF -DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cflags" &&
			cmake --build "$dir" --target "$target" -j "$(nproc)"
	} >>"$dir.log" 2>&1 || {
		tail -n 20 "$dir.log" >&2
		llamacpp_log "building $target failed (full log: $dir.log)"
		return 1
	}
}

# amx_usable: the CPU lists AMX and a tile load runs. Some VMs report AMX but
# do not enable its state, and a -march=native llama.cpp then dies of SIGILL.
amx_usable() {
	grep -qw amx_tile /proc/cpuinfo 2>/dev/null || return 1
	local dir
	dir=$(mktemp -d)
	cat >"$dir/amx.c" <<'C'
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
	if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */)) return 2;
	struct { uint8_t palette, start, rsv[14]; uint16_t colsb[16]; uint8_t rows[16]; } cfg;
	static int32_t buf[16];
	memset(&cfg, 0, sizeof cfg);
	cfg.palette = 1, cfg.rows[0] = 1, cfg.colsb[0] = 4;
	_tile_loadconfig(&cfg);
	_tile_loadd(0, buf, 64);
	_tile_release();
	return 0;
}
C
	local ok=1
	# (a subshell, so that the shell does not report the SIGILL it expects)
	if cc -O1 -mamx-tile -o "$dir/amx" "$dir/amx.c" 2>/dev/null && ("$dir/amx"; exit $?) 2>/dev/null; then ok=0; fi
	rm -rf "$dir"
	return $ok
}

llamacpp_tool() { # NAME ISA
	local name=$1 isa=$2 build cflags=""
	case $isa in
	avx2)
		build=$LLAMACPP_CACHE/build-avx2
		[[ -x $build/bin/$name ]] || llamacpp_build "$build" "$name" "" \
			-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON || return 1
		;;
	native)
		build=$LLAMACPP_CACHE/build
		if grep -qw amx_tile /proc/cpuinfo 2>/dev/null && ! amx_usable; then
			[[ -x $LLAMACPP_CACHE/build-noamx/bin/$name ]] ||
				llamacpp_log "this CPU reports AMX but cannot run it (a VM?): building llama.cpp without AMX"
			build=$LLAMACPP_CACHE/build-noamx cflags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
		fi
		[[ -x $build/bin/$name ]] || llamacpp_build "$build" "$name" "$cflags" || return 1
		;;
	*)
		llamacpp_log "llamacpp_tool: ISA $isa: want native or avx2"
		return 1
		;;
	esac
	echo "$build/bin/$name"
}
