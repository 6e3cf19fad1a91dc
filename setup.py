"""Build hook for the optional native extension; everything else lives in pyproject.toml."""

from setuptools import setup

try:
    from setuptools_rust import Binding, RustExtension
except ImportError:  # no setuptools-rust: the pure-Python codec is used
    rust_extensions = []
else:
    rust_extensions = [
        RustExtension(
            "hitcircle_native",
            path="native/Cargo.toml",
            binding=Binding.PyO3,
            # Without a Rust toolchain the install still succeeds and core.lazer falls back.
            optional=True,
            # Always --release: setuptools-rust would build editable installs (`pip install -e .`)
            # in debug mode, where the codec is about four times slower.
            debug=False,
            py_limited_api="auto",
        )
    ]

setup(rust_extensions=rust_extensions, zip_safe=False)
