# cellardb.tcl - the Tcl side of the cellardb binding, sourced after the
# SWIG-generated extension is loaded (see pkgIndex.tcl made by the build).
#
#   package require cellardb
#   set db [cellardb::open data.cellar -sync full]
#   $db put k v ; $db get k
#   cellardb::foreach {k v} $db { puts "$k = $v" }
#   cellardb::transaction $db txn { $txn put a 1 }
#   cellardb::close $db
#
# Errors are Tcl errors with -errorcode {CELLAR CELLAR_ENOTFOUND message}.

namespace eval ::cellardb {
    namespace export open foreach transaction close

    variable optionSetters {
        -readonly set_readonly -create set_create -truncate set_truncate
        -cache_size set_cache_size -page_size set_page_size -sync set_sync
        -mode set_mode -lock_timeout set_lock_timeout -wal_limit set_wal_limit
        -clock set_clock -flags set_flags
    }
}

# The same error shape as the C layer's, for errors raised here.
proc ::cellardb::Fail {name message} {
    set msg "invalid argument: $message"
    return -code error -level 2 -errorcode [list CELLAR $name $msg] $msg
}

# A CellarOptions object from -option value pairs (the caller deletes it).
proc ::cellardb::options {args} {
    variable optionSetters
    if {[llength $args] % 2} {
        Fail CELLAR_EINVAL "options come in -name value pairs"
    }
    set o [CellarOptions]
    try {
        dict for {name value} $args {
            if {![dict exists $optionSetters $name]} {
                Fail CELLAR_EINVAL "unknown option $name (one of: [join [dict keys $optionSetters] {, }])"
            }
            $o [dict get $optionSetters $name] $value
        }
    } on error {msg opts} {
        $o -delete
        return -options $opts $msg
    }
    return $o
}

# Open the database at path; returns the object command of the database.
proc ::cellardb::open {path args} {
    set o [options {*}$args]
    try {
        return [CellarDB -args $path $o]
    } finally {
        $o -delete
    }
}

# Close the database and delete its object command (a closed database
# object may also be kept: its methods then fail with CELLAR_ECLOSED).
proc ::cellardb::close {db} {
    try {
        $db close
    } finally {
        $db -delete
    }
}

# foreach {keyVar valueVar} db body: run body for every record, with break,
# continue and return working as in the foreach command.
proc ::cellardb::foreach {vars db body} {
    if {[llength $vars] != 2} {
        Fail CELLAR_EINVAL "foreach wants {keyVar valueVar}"
    }
    upvar 1 [lindex $vars 0] key [lindex $vars 1] value
    set it [$db iterate]
    try {
        while {[$it advance]} {
            set key [$it key]
            set value [$it value]
            set code [catch {uplevel 1 $body} result opts]
            switch -- $code {
                0 - 4 {}
                3 { break }
                2 {
                    dict incr opts -level
                    return -options $opts $result
                }
                default { return -options $opts $result }
            }
        }
    } finally {
        $it -delete
    }
    return
}

# transaction db txnVar ?-readonly? body: run body with txnVar set to a new
# transaction; commit when it ends normally (also by return), abort and
# rethrow on error. Returns the body's result.
proc ::cellardb::transaction {db txnVar args} {
    set readonly 0
    if {[llength $args] == 2 && [lindex $args 0] eq "-readonly"} {
        set readonly 1
        set args [lrange $args 1 end]
    }
    if {[llength $args] != 1} {
        Fail CELLAR_EINVAL "usage: cellardb::transaction db txnVar ?-readonly? body"
    }
    upvar 1 $txnVar txn
    set txn [$db begin $readonly]
    set t $txn
    try {
        set code [catch {uplevel 1 [lindex $args 0]} result opts]
        # a body that deleted (or renamed) the transaction command took it
        # out of our hands: it is not committed
        set alive [llength [info commands $t]]
        if {$code == 1} {
            if {$alive} {
                $t abort
            }
            return -options $opts $result
        }
        if {!$alive} {
            set msg "[cellardb::strerror $cellardb::ECLOSED]: the transaction\
                     $t was deleted or renamed inside its body; nothing was committed"
            return -code error -errorcode [list CELLAR CELLAR_ECLOSED $msg] $msg
        }
        if {[$t active]} {
            $t commit
        }
        if {$code == 2} {
            dict incr opts -level
            return -options $opts $result
        }
        return $result
    } finally {
        if {[llength [info commands $t]]} {
            $t -delete
        }
    }
}
