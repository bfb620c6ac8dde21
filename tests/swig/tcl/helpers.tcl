# helpers.tcl - shared by the Tcl binding's tests.
package require tcltest 2.5
namespace import -force ::tcltest::*

# The cellardb package: from TCLLIBPATH (ctest sets it to the build's tcl dir).
package require cellardb

set ::tmproot [file join [tcltest::temporaryDirectory] cellar-tcl-[pid]]
file mkdir $::tmproot
proc tmpdb {name} {
    set d [file join $::tmproot [incr ::tmpcount]]
    file mkdir $d
    return [file join $d $name]
}

# The CELLAR code name of the error a script raises, "" if none, or
# "OTHER: message" for an error that is not a cellardb one.
proc errcode {script} {
    if {![catch {uplevel 1 $script} msg opts]} {
        return ""
    }
    set ec [dict get $opts -errorcode]
    if {[lindex $ec 0] eq "CELLAR"} {
        return [lindex $ec 1]
    }
    return "OTHER: $msg"
}

# Bytes as hex, for results that must compare exactly.
proc hex {bytes} {
    return [binary encode hex $bytes]
}

# The 256 byte values 0..255, in order.
proc allbytes {} {
    set l {}
    for {set i 0} {$i < 256} {incr i} {
        lappend l $i
    }
    return [binary format c* $l]
}
