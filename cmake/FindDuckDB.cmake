# Finds the DuckDB C library: DUCKDB_ROOT (environment or cache) first, then the pinned copy that
# scripts/bootstrap.sh puts in third_party/duckdb, then the system. Defines DuckDB::duckdb, with
# the library's folder in the RPATH of whatever links it (no LD_LIBRARY_PATH needed).
set(_duckdb_hints)
if(DEFINED DUCKDB_ROOT)
  list(APPEND _duckdb_hints "${DUCKDB_ROOT}")
endif()
if(DEFINED ENV{DUCKDB_ROOT})
  list(APPEND _duckdb_hints "$ENV{DUCKDB_ROOT}")
endif()
list(APPEND _duckdb_hints "${PROJECT_SOURCE_DIR}/third_party/duckdb")

find_path(DuckDB_INCLUDE_DIR duckdb.h HINTS ${_duckdb_hints} PATH_SUFFIXES include)
find_library(DuckDB_LIBRARY duckdb HINTS ${_duckdb_hints} PATH_SUFFIXES lib lib64)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DuckDB REQUIRED_VARS DuckDB_LIBRARY DuckDB_INCLUDE_DIR)

if(DuckDB_FOUND AND NOT TARGET DuckDB::duckdb)
  add_library(DuckDB::duckdb SHARED IMPORTED)
  set_target_properties(DuckDB::duckdb PROPERTIES
    IMPORTED_LOCATION "${DuckDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DuckDB_INCLUDE_DIR}")
  get_filename_component(DuckDB_LIBRARY_DIR "${DuckDB_LIBRARY}" DIRECTORY)
  # The library is not on the loader's path: bake its folder into the RPATH.
  set_property(TARGET DuckDB::duckdb APPEND PROPERTY INTERFACE_LINK_OPTIONS
               "LINKER:-rpath,${DuckDB_LIBRARY_DIR}")
endif()
mark_as_advanced(DuckDB_INCLUDE_DIR DuckDB_LIBRARY)
