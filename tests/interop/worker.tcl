# The Tcl side of the cross-language interop test (driven by interop.py).
# usage: tclsh worker.tcl write PLAN DB | read PLAN DB...
# (the plan format is described in interop_c.c; the package is found through
# TCLLIBPATH)
package require cellardb

proc decode {tok} {
    if {[string index $tok 0] eq "p"} {
        set n [string range $tok 1 end]
        set codes {}
        for {set i 0} {$i < 251} {incr i} { lappend codes $i }
        set pat [binary format c* $codes]
        return [string range [string repeat $pat [expr {$n / 251 + 1}]] 0 [expr {$n - 1}]]
    }
    return [binary format H* [string range $tok 1 end]]
}

proc read_plan {file} {
    set f [open $file r]
    set ops {}
    foreach line [split [read $f] \n] {
        if {$line eq "" || [string index $line 0] eq "#"} continue
        set t [split $line " "]
        set kind [lindex $t 0]
        set pairs {}
        set ttl 0
        if {$kind eq "ttl"} {
            lappend pairs [list [decode [lindex $t 1]] [decode [lindex $t 2]]]
            set ttl [lindex $t 3]
        } else {
            foreach {k v} [lrange $t 1 end] { lappend pairs [list [decode $k] [decode $v]] }
        }
        lappend ops [list $kind $pairs $ttl]
    }
    close $f
    return $ops
}

proc write_db {ops file} {
    set db [cellardb::open $file -truncate 1]
    foreach op $ops {
        lassign $op kind pairs ttl
        lassign [lindex $pairs 0] k v
        switch -- $kind {
            put { $db put $k $v }
            ttl { $db put_ttl $k $v $ttl }
            default {
                set t [$db begin]
                foreach p $pairs { $t put [lindex $p 0] [lindex $p 1] }
                if {$kind eq "commit"} { $t commit } else { $t abort }
                $t -delete
            }
        }
    }
    cellardb::close $db
}

proc verify {ops file} {
    set db [cellardb::open $file -readonly 1]
    set present 0
    set why ""
    foreach op $ops {
        lassign $op kind pairs ttl
        set i -1
        foreach p $pairs {
            lassign $p k v
            incr i
            if {$kind eq "abort"} {
                if {[$db exists $k]} { set why "key $i of the aborted transaction is present" }
            } elseif {![$db exists $k]} {
                set why "$kind record ([string length $k]-byte key) is missing"
            } else {
                set got [$db get $k]
                if {$got ne $v} {
                    set why "$kind record ([string length $k]-byte key): [string length $got]-byte value differs (want [string length $v] bytes)"
                } else {
                    incr present
                    if {$kind eq "ttl"} {
                        set left [$db ttl $k]
                        if {$left <= 0 || $left > $ttl} { set why "ttl of the TTL record is $left" }
                    }
                }
            }
            if {$why ne ""} { cellardb::close $db; return $why }
        }
    }
    set n [$db count]
    cellardb::close $db
    if {$n != $present} { return "count $n, want $present" }
    return ""
}

lassign $argv mode plan
set dbs [lrange $argv 2 end]
if {($mode ne "write" && $mode ne "read") || [llength $dbs] == 0} {
    puts stderr "usage: tclsh worker.tcl write PLAN DB | read PLAN DB..."
    exit 2
}
set ops [read_plan $plan]
if {$mode eq "write"} {
    write_db $ops [lindex $dbs 0]
    exit 0
}
set failed 0
foreach file $dbs {
    if {[catch {verify $ops $file} why]} { set why "error: $why" }
    if {$why ne ""} { puts "FAIL $file: $why"; set failed 1 } else { puts "PASS $file" }
}
exit $failed
