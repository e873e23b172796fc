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
use Net::DNS;

my $dir = shift or die "usage: $0 DIR\n";
my %zone;
open(my $z, '<', "$dir/zone.txt") or die "zone.txt: $!\n";
while (my $line = <$z>) {
    chomp $line;
    my ($name, $record) = split(/\t/, $line, 2);
    $name = lc $name;
    $name =~ s/\.$//;
    $zone{$name} = $record;
}
close $z;

package ZoneResolver;
sub new { return bless {}, shift }
sub errorstring { return 'NXDOMAIN' }
sub send {
    my ($self, $name, $type) = @_;
    my $packet = Net::DNS::Packet->new($name, $type, 'IN');
    $packet->header->qr(1);
    my $key = lc $name;
    $key =~ s/\.$//;
    if (exists $zone{$key}) {
        # RFC 1035: character-strings of at most 255 octets.
        my @strings = unpack('(a255)*', $zone{$key});
        $packet->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [@strings]));
    } else {
        $packet->header->rcode('NXDOMAIN');
    }
    return $packet;
}

package main;
Mail::DKIM::DNS::resolver(ZoneResolver->new);

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
