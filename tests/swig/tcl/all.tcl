# all.tcl - run every *.test file of the Tcl binding with tcltest.
# Exits non-zero if any test failed (ctest also matches "Failed N").
package require tcltest 2.5
tcltest::configure -testdir [file dirname [file normalize [info script]]] -singleproc 1
if {[llength $argv]} {
    tcltest::configure {*}$argv
}
set failed [tcltest::runAllTests]
exit [expr {$failed ? 1 : 0}]
