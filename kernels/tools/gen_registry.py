#!/usr/bin/env python3
"""Writes the kernel table of the CUDA emulation and the single translation unit nvcc compiles.

Usage: gen_registry.py --registry OUT.cpp --unity OUT.cu [--preprocessed DIR] KERNEL.cu...

Finds every `extern "C" __global__ void NAME(PARAMS)` of the given .cu files (parameters as the launch ABI
allows: pointers, int, unsigned, float, long long). With --preprocessed, DIR/<file>.ii is the file after the C
preprocessor with __global__ defined as __de_global__ (build.sh runs g++ -E so), which finds entry points written
by macros too; line markers map each back to its file and line. Without it the sources are read as they are.
Writes
  --registry: registry.cpp for the emulation: per kernel a trampoline `void(void** params)` that reads params[i]
              as the i-th parameter's declared type and calls the kernel, and the table {name, trampoline, kinds,
              signature} sorted by name (the launcher binary-searches it);
  --unity:    kernels_all.cu for nvcc, so kernels.ptx and each cubin are one module: every file's #include lines
              hoisted to the top, then each file included inside its own namespace (file-local helpers of
              different files may share names; extern "C" kernels keep their plain names).
A __global__ function that is not extern "C", a parameter type outside the ABI, or a duplicate kernel name stops
the build with the file and line. Files are rewritten only when their content changes.
"""
import argparse
import bisect
import os
import re
import sys

SCALARS = {
    "int": "i", "unsigned": "i", "unsigned int": "i", "int32_t": "i", "uint32_t": "i",
    "float": "f",
    "long long": "l", "long long int": "l", "unsigned long long": "l", "unsigned long long int": "l",
    "int64_t": "l", "uint64_t": "l",
}
QUALIFIERS = {"const", "volatile", "__restrict__", "__restrict", "restrict", "__grid_constant__"}


def strip_comments(text):
    """Blanks out comments and string contents but keeps every newline, so offsets still give line numbers."""
    def blank(m):
        s = m.group(0)
        if s.startswith('"'):
            return s  # strings stay: extern "C" is one
        return re.sub(r"[^\n]", " ", s)
    return re.sub(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"', blank, text, flags=re.S)


class Source:
    """Text to scan, with the file and line each offset came from."""

    def __init__(self, path, text, preprocessed):
        self.path = path
        self.text = text
        self.starts = []  # (offset of a line, its file, its line number)
        if not preprocessed:
            offset = 0
            for n, line in enumerate(text.split("\n"), 1):
                self.starts.append((offset, path, n))
                offset += len(line) + 1
            return
        # Line markers: `# 203 "/path/file.cu" 2` means the next line is line 203 of that file.
        offset, cur_file, cur_line = 0, path, 1
        for line in text.split("\n"):
            m = re.match(r'#\s*(\d+)\s+"([^"]*)"', line)
            if m:
                cur_file, cur_line = m.group(2), int(m.group(1))
            else:
                self.starts.append((offset, cur_file, cur_line))
                cur_line += 1
            offset += len(line) + 1

    def where(self, pos):
        if not hasattr(self, "offsets"):
            self.offsets = [s[0] for s in self.starts]
        i = bisect.bisect_right(self.offsets, pos) - 1
        _, f, n = self.starts[max(i, 0)]
        return f, n

    def in_own_file(self, pos):
        return os.path.realpath(self.where(pos)[0]) == os.path.realpath(self.path)


def fail(src, pos, msg):
    f, n = src.where(pos)
    sys.exit(f"gen_registry: {f}:{n}: {msg}")


def parse_param(src, pos, kernel, index, param):
    """Returns (kind, C type for the trampoline cast, the parameter as written)."""
    written = " ".join(param.split())
    tokens = re.findall(r"[A-Za-z_]\w*|\*|&|\[|\]|\S", written)
    if "&" in tokens or "[" in tokens:
        fail(src, pos, f"kernel {kernel} parameter {index} '{written}': references and arrays are not in the launch ABI")
    stars = tokens.count("*")
    if stars > 1:
        fail(src, pos, f"kernel {kernel} parameter {index} '{written}': pointers to pointers are not in the launch ABI")
    if stars == 1:
        star = tokens.index("*")
        base = [t for t in tokens[:star]]
        after = [t for t in tokens[star + 1:] if t not in QUALIFIERS]
        if len(after) > 1:
            fail(src, pos, f"kernel {kernel} parameter {index} '{written}': cannot parse")
        base_type = " ".join(t for t in base if t not in ("volatile", "__restrict__", "__restrict", "restrict"))
        return "p", base_type + "*", written
    words = [t for t in tokens if t not in QUALIFIERS]
    # The last word is the parameter's name unless the words already form a type by themselves.
    type_words = words if " ".join(words) in SCALARS else words[:-1]
    scalar = " ".join(type_words)
    if scalar not in SCALARS:
        allowed = "pointers, int, unsigned, float, long long"
        fail(src, pos, f"kernel {kernel} parameter {index} '{written}': type '{scalar}' is not in the launch ABI ({allowed})")
    return SCALARS[scalar], scalar, written


def parse_file(path, preprocessed_dir):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    includes = [l.strip() for l in raw.splitlines() if re.match(r"\s*#\s*include\b", l)]
    if preprocessed_dir:
        ii = os.path.join(preprocessed_dir, os.path.splitext(os.path.basename(path))[0] + ".ii")
        with open(ii, encoding="utf-8") as f:
            src = Source(path, f.read(), True)
        marker = "__de_global__"
    else:
        src = Source(path, strip_comments(raw), False)
        marker = "__global__"
    text = src.text
    sig = re.compile(marker + r"\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?"
                     r"([A-Za-z_]\w*)\s*\(([^)]*)\)")
    kernels = []
    for m in re.finditer(marker, text):
        if not src.in_own_file(m.start()):
            continue  # a header's
        before = text[max(0, m.start() - 40):m.start()]
        if not re.search(r'extern\s+"C"\s*$', before):
            fail(src, m.start(), '__global__ function without extern "C" (the launch ABI finds kernels by their C name)')
        s = sig.match(text, m.start())
        if not s:
            fail(src, m.start(), 'expected extern "C" __global__ void NAME(PARAMS)')
        name, params = s.group(1), s.group(2).strip()
        plist = [] if params in ("", "void") else [p for p in params.split(",")]
        parsed = [parse_param(src, m.start(), name, i, p) for i, p in enumerate(plist)]
        f, line = src.where(m.start())
        kernels.append({"name": name, "params": parsed, "file": f, "line": line})
    return kernels, includes


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def registry_source(kernels):
    out = ["// Generated by kernels/tools/gen_registry.py from kernels/*.cu: do not edit.",
           '#include "runtime.h"', ""]
    for k in kernels:
        decl = ", ".join(t for _, t, _ in k["params"])
        out.append(f'extern "C" void {k["name"]}({decl});')
    out.append("")
    out.append("namespace {")
    for k in kernels:
        args = []
        for i, (kind, ctype, _) in enumerate(k["params"]):
            if kind == "p":
                args.append(f"reinterpret_cast<{ctype}>(*static_cast<void* const*>(p[{i}]))")
            else:
                args.append(f"*static_cast<const {ctype}*>(p[{i}])")
        unused = "" if k["params"] else "(void)p; "
        out.append(f'void t_{k["name"]}(void** p) {{ {unused}{k["name"]}({", ".join(args)}); }}')
    out.append("}  // namespace")
    out.append("")
    out.append("const DeKernel de_kernel_table[] = {")
    for k in kernels:
        kinds = "".join(kind for kind, _, _ in k["params"])
        sig = ", ".join(w for _, _, w in k["params"])
        out.append(f'    {{{c_string(k["name"])}, t_{k["name"]}, {c_string(kinds)}, {c_string(sig)}}},')
    if not kernels:
        out.append('    {"", nullptr, "", ""},')
    out.append("};")
    out.append(f"const int de_kernel_table_size = {len(kernels)};")
    return "\n".join(out) + "\n"


def unity_source(files, includes):
    out = ["// Generated by kernels/tools/gen_registry.py: every kernels/*.cu in one module for nvcc. Do not edit."]
    seen = set()
    for inc in includes:
        if inc not in seen:
            seen.add(inc)
            out.append(inc)
    for path in files:
        ns = "de_unit_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        out.append(f"namespace {ns} {{")
        out.append(f'#include "{os.path.abspath(path)}"')
        out.append(f"}}  // namespace {ns}")
    return "\n".join(out) + "\n"


def write_if_changed(path, content):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == content:
                return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(content)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", required=True)
    ap.add_argument("--unity", required=True)
    ap.add_argument("--preprocessed", help="directory of <file>.ii from g++ -E -D__global__=__de_global__")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    kernels, includes = [], []
    for path in sorted(a.files):
        ks, incs = parse_file(path, a.preprocessed)
        kernels += ks
        includes += incs
    by_name = {}
    for k in kernels:
        if k["name"] in by_name:
            o = by_name[k["name"]]
            sys.exit(f"gen_registry: {k['file']}:{k['line']}: kernel {k['name']} is also defined at {o['file']}:{o['line']}")
        by_name[k["name"]] = k
    kernels.sort(key=lambda k: k["name"].encode())
    write_if_changed(a.registry, registry_source(kernels))
    write_if_changed(a.unity, unity_source(sorted(a.files), includes))
    print(f"gen_registry: {len(kernels)} kernels from {len(a.files)} files")


if __name__ == "__main__":
    main()
