# json.tcl - a small JSON reader for the conformance runner (the cases use
# objects, arrays, strings, integers, true, false and null only).
#
# [json::parse TEXT] returns a tagged tree, so that types survive:
#   {obj DICT} (values are trees), {arr LIST}, {str S}, {num N},
#   {bool 1|0}, {null}
#
# TEXT is the file's raw UTF-8 bytes (read with -translation binary), and
# strings come back as UTF-8 bytes too (\uXXXX escapes encoded here): Tcl
# 8.6 strings cannot hold characters above U+FFFF, bytes can.

namespace eval ::json {
    variable text
    variable pos
}

proc ::json::parse {input} {
    variable text $input
    variable pos 0
    set v [Value]
    Space
    if {$pos < [string length $text]} {
        error "json: trailing text at offset $pos"
    }
    return $v
}

proc ::json::Space {} {
    variable text
    variable pos
    while {[string is space -strict [string index $text $pos]]} {
        incr pos
    }
}

proc ::json::Expect {c} {
    variable text
    variable pos
    Space
    if {[string index $text $pos] ne $c} {
        error "json: expected '$c' at offset $pos"
    }
    incr pos
}

proc ::json::Value {} {
    variable text
    variable pos
    Space
    set c [string index $text $pos]
    switch -- $c {
        "\{" { return [Object] }
        "\[" { return [Array] }
        "\"" { return [list str [String]] }
        "t" { return [Word true {bool 1}] }
        "f" { return [Word false {bool 0}] }
        "n" { return [Word null {null}] }
        default {
            if {[regexp {^-?[0-9]+} [string range $text $pos [expr {$pos + 24}]] num]} {
                incr pos [string length $num]
                return [list num $num]
            }
            error "json: unexpected '$c' at offset $pos"
        }
    }
}

proc ::json::Word {word tree} {
    variable text
    variable pos
    if {[string range $text $pos [expr {$pos + [string length $word] - 1}]] ne $word} {
        error "json: bad literal at offset $pos"
    }
    incr pos [string length $word]
    return $tree
}

proc ::json::Object {} {
    variable text
    variable pos
    incr pos
    set d [dict create]
    Space
    if {[string index $text $pos] eq "\}"} {
        incr pos
        return [list obj $d]
    }
    while 1 {
        Space
        if {[string index $text $pos] ne "\""} {
            error "json: expected a key at offset $pos"
        }
        set k [String]
        Expect :
        dict set d $k [Value]
        Space
        set c [string index $text $pos]
        incr pos
        if {$c eq "\}"} {
            return [list obj $d]
        }
        if {$c ne ","} {
            error "json: expected , or \} at offset [expr {$pos - 1}]"
        }
    }
}

proc ::json::Array {} {
    variable text
    variable pos
    incr pos
    set l {}
    Space
    if {[string index $text $pos] eq "\]"} {
        incr pos
        return [list arr $l]
    }
    while 1 {
        lappend l [Value]
        Space
        set c [string index $text $pos]
        incr pos
        if {$c eq "\]"} {
            return [list arr $l]
        }
        if {$c ne ","} {
            error "json: expected , or \] at offset [expr {$pos - 1}]"
        }
    }
}

# A string starting at the opening quote; returns its characters.
proc ::json::String {} {
    variable text
    variable pos
    incr pos
    set out ""
    while 1 {
        set q [string first "\"" $text $pos]
        set b [string first "\\" $text $pos]
        if {$q < 0} {
            error "json: unterminated string"
        }
        if {$b < 0 || $q < $b} {
            append out [string range $text $pos [expr {$q - 1}]]
            set pos [expr {$q + 1}]
            return $out
        }
        append out [string range $text $pos [expr {$b - 1}]]
        set e [string index $text [expr {$b + 1}]]
        set pos [expr {$b + 2}]
        switch -- $e {
            "\"" { append out "\"" }
            "\\" { append out "\\" }
            "/" { append out "/" }
            b { append out "\b" }
            f { append out "\f" }
            n { append out "\n" }
            r { append out "\r" }
            t { append out "\t" }
            u {
                set cp [scan [string range $text $pos [expr {$pos + 3}]] %4x]
                incr pos 4
                if {$cp >= 0xD800 && $cp <= 0xDBFF
                    && [string range $text $pos [expr {$pos + 1}]] eq "\\u"} {
                    set lo [scan [string range $text [expr {$pos + 2}] [expr {$pos + 5}]] %4x]
                    incr pos 6
                    set cp [expr {0x10000 + (($cp - 0xD800) << 10) + ($lo - 0xDC00)}]
                }
                append out [Utf8 $cp]
            }
            default { error "json: bad escape \\$e" }
        }
    }
}

# The UTF-8 bytes of code point cp, as a byte string.
proc ::json::Utf8 {cp} {
    if {$cp < 0x80} {
        return [format %c $cp]
    }
    if {$cp < 0x800} {
        return [format %c%c [expr {0xC0 | ($cp >> 6)}] [expr {0x80 | ($cp & 0x3F)}]]
    }
    if {$cp < 0x10000} {
        return [format %c%c%c [expr {0xE0 | ($cp >> 12)}] \
                    [expr {0x80 | (($cp >> 6) & 0x3F)}] [expr {0x80 | ($cp & 0x3F)}]]
    }
    return [format %c%c%c%c [expr {0xF0 | ($cp >> 18)}] [expr {0x80 | (($cp >> 12) & 0x3F)}] \
                [expr {0x80 | (($cp >> 6) & 0x3F)}] [expr {0x80 | ($cp & 0x3F)}]]
}
