#!/usr/bin/perl
# Independent DKIM verifier (libmail-dkim-perl's Mail::DKIM::Verifier) for
# dkim_sign_test: every DKIM-Signature of every *.eml in DIR, keys from
# DIR/zone.txt ("name<TAB>TXT record" lines) through a resolver object that
# answers from that table only. Prints "<file> pass" when all signatures
# verify, else "<file> fail". Mail::DKIM (1.20230212, Debian 12) knows no
# ed25519-sha256: such signatures are left out, and a message with only
# those prints "<file> unsupported".
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use ZoneResolver;

my $dir = shift or die "usage: $0 DIR\n";
Mail::DKIM::DNS::resolver(ZoneResolver->new("$dir/zone.txt"));

opendir(my $dh, $dir) or die "$dir: $!\n";
for my $entry (sort grep { /\.eml$/ } readdir $dh) {
    open(my $fh, '<:raw', "$dir/$entry") or die "$entry: $!\n";
    my $verifier = Mail::DKIM::Verifier->new();
    local $/;
    my $text = <$fh>;
    close $fh;
    $verifier->PRINT($text);
    $verifier->CLOSE;
    my @sigs = grep { ($_->result_detail // '') !~ /unsupported algorithm ed25519/ } $verifier->signatures;
    if (!@sigs && $verifier->signatures) {
        print "$entry unsupported\n";
        next;
    }
    my $ok = @sigs > 0;
    for my $s (@sigs) { $ok = 0 unless ($s->result // '') eq 'pass'; }
    print "$entry ", ($ok ? 'pass' : 'fail'), "\n";
}
closedir $dh;
