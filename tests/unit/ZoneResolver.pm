# A resolver object for Mail::DKIM::DNS::resolver that answers TXT
# questions from a table read from a "name<TAB>TXT record" file and
# NXDOMAIN for anything else, so that the Mail::DKIM oracles of the unit
# tests (dkim_oracle.pl, arc_oracle.pl) never ask the network.
package ZoneResolver;
use strict;
use warnings;
use Net::DNS;

sub new {
    my ($class, $file) = @_;
    my %zone;
    open(my $z, '<', $file) or die "$file: $!\n";
    while (my $line = <$z>) {
        chomp $line;
        my ($name, $record) = split(/\t/, $line, 2);
        $name = lc $name;
        $name =~ s/\.$//;
        $zone{$name} = $record;
    }
    close $z;
    return bless { zone => \%zone }, $class;
}

sub errorstring { return 'NXDOMAIN' }

sub send {
    my ($self, $name, $type) = @_;
    my $packet = Net::DNS::Packet->new($name, $type, 'IN');
    $packet->header->qr(1);
    my $key = lc $name;
    $key =~ s/\.$//;
    if (exists $self->{zone}{$key}) {
        # RFC 1035: character-strings of at most 255 octets.
        my @strings = unpack('(a255)*', $self->{zone}{$key});
        $packet->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [@strings]));
    } else {
        $packet->header->rcode('NXDOMAIN');
    }
    return $packet;
}

1;
