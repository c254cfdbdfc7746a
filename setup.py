from setuptools import setup

setup(cffi_modules=["src/ctrng/_core/build.py:ffibuilder"])
