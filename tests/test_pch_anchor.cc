// The target that builds the test binaries' shared precompiled header
// (hoodyfs_test_pch in the top CMakeLists.txt) needs one source file of its
// own; this is it. It has nothing else to compile.
