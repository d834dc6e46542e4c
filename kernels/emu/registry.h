// registry.h — name -> kernel table for the emulator. The Go side generates,
// per kernels/<op>.cu, a translation unit that includes the .cu file and one
// EMU_REGISTER(symbol) line per extern "C" __global__ it declares. The thunk
// unpacks cuLaunchKernel-style `void** args` (args[i] points at parameter i)
// into a call of the kernel with its real parameter types.
#pragma once
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace emu {

struct Entry {
    const char* name;
    void (*call)(void** args);
};

std::vector<Entry>& registry();

struct Registrar {
    Registrar(const char* name, void (*call)(void**)) { registry().push_back(Entry{name, call}); }
};

template <class... A, std::size_t... I>
inline void invoke_impl(void (*k)(A...), void** args, std::index_sequence<I...>) {
    k(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(args[I])...);
}

// invoke calls kernel k with the parameters args points at.
template <class... A>
inline void invoke(void (*k)(A...), void** args) {
    invoke_impl(k, args, std::index_sequence_for<A...>{});
}

}  // namespace emu

#define EMU_REGISTER(k) \
    static emu::Registrar emu_registrar_##k(#k, [](void** args) { emu::invoke(&k, args); });
