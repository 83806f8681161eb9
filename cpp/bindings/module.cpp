// module.cpp: PYBIND11_MODULE only; each concept registers itself into its submodule.
#include "pybind11.hpp"

void register_random(py::module_& m);
void register_scales(py::module_& m);
void register_region(py::module_& m);
void register_designs(py::module_& m);
void register_importance(py::module_& m);
void register_schedule(py::module_& m);
void register_search(py::module_& m);
void register_conditions(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "hyperzoom's compiled core (private: use the hyperzoom package).";
    auto random = m.def_submodule("random", "Counter-based Philox4x32-10 streams.");
    register_random(random);
    auto scales = m.def_submodule("scales", "Unit-cube <-> value maps per scale kind.");
    register_scales(scales);
    auto region = m.def_submodule("region", "Elite selection and coarse-to-fine regions.");
    register_region(region);
    auto designs = m.def_submodule("designs", "Random, Latin hypercube and grid designs; metrics.");
    register_designs(designs);
    auto importance = m.def_submodule("importance", "Main-effect variance shares.");
    register_importance(importance);
    auto schedule = m.def_submodule("schedule", "Rungs, brackets, promotions and PBT draws.");
    register_schedule(schedule);
    auto search = m.def_submodule("search", "The coarse-to-fine state machine.");
    register_search(search);
    auto conditions = m.def_submodule("conditions", "Conditional parameters and forbidden rows.");
    register_conditions(conditions);
}
