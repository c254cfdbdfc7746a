from setuptools import setup

setup(cffi_modules=["src/ctrng/_ffi_build.py:ffibuilder"])
