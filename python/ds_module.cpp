// Python bindings of the torch-free core; one bindings file per exposed concept.
#include <pybind11/pybind11.h>

#include "common/build_info.hpp"

namespace py = pybind11;

namespace ds::python {
void bind_estimate(py::module_& m);  // estimate_bindings.cpp
}

PYBIND11_MODULE(ds_py, m) {
  m.doc() = "ds: memory estimates, tuning and configs for large-model training";
  m.def("version", [] { return ds::build_info().version; }, "ds version");
  m.def("git_commit", [] { return ds::build_info().git_commit; }, "commit ds was built from");
  ds::python::bind_estimate(m);
}
