#!/usr/bin/perl
# Independent ARC verifier (libmail-dkim-perl's Mail::DKIM::ARC::Verifier,
# Strict: no rsa-sha1, no RSA key under 1024 bits, as RFC 8301) for
# arc_test: prints one line per MESSAGE, "RESULT DETAIL" (result: pass,
# fail, invalid or none; detail: result_detail()). Keys come from ZONE
# ("name<TAB>TXT record" lines) through a resolver object that answers from
# that table only (Mail::DKIM::DNS::resolver), never from the network.
#
#   arc_oracle.pl ZONE MESSAGE...
use strict;
use warnings;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use ZoneResolver;

my $zone_file = shift or die "usage: $0 ZONE MESSAGE...\n";
Mail::DKIM::DNS::resolver(ZoneResolver->new($zone_file));

for my $file (@ARGV) {
    open(my $fh, '<:raw', $file) or die "$file: $!\n";
    local $/;
    my $text = <$fh>;
    close $fh;
    my $arc = Mail::DKIM::ARC::Verifier->new(Strict => 1);
    eval {
        $arc->PRINT($text);
        $arc->CLOSE;
        1;
    } or do {
        print "error\n";
        next;
    };
    my $detail = $arc->result_detail // '';
    $detail =~ s/\s+/ /g;
    print $arc->result, " ", $detail, "\n";
}
