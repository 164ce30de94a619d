"""``hub keys partner-keypair | egress-public-key``: the Ed25519 keys of signed messages.

Importing this module attaches the commands to the ``hub keys`` group (hub.signatures).
"""

from __future__ import annotations

import json
from dataclasses import replace

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.cli_keys import keys
from hub.envelope import Outbound
from hub.settings import Settings
from hub.signatures import (
    KEY_ID,
    Signer,
    SigningKeyError,
    key_id_of,
    private_key_from_text,
    private_key_text,
    public_key_text,
)


@keys.command("partner-keypair")
@click.argument("partner")
@click.option("--key-id", default=None, help="the key's id (default: derived from the public key)")
def partner_keypair(partner: str, key_id: str | None) -> None:
    """Print a new Ed25519 key pair for PARTNER's signed messages.

    The private key goes to the partner (it signs with it; `hub publish --signing-key` does too),
    the public key and its id into the hub's settings. PARTNER `hub` makes the hub's own egress
    signing key instead.
    """
    private_key = Ed25519PrivateKey.generate()
    public_key = private_key.public_key()
    chosen = key_id or key_id_of(public_key)
    if KEY_ID.fullmatch(chosen) is None:
        raise click.BadParameter("1-32 characters of A-Z a-z 0-9 . _ -", param_hint="--key-id")
    public, private = public_key_text(public_key), private_key_text(private_key)
    click.echo(f"key id: {chosen}")
    click.echo(f"public key: {public}")
    if partner == "hub":
        click.echo(f"private key (HUB_EGRESS_SIGNING_KEY, keep secret): {private}")
        click.echo(f"settings: HUB_EGRESS_SIGNING_KEY={private} HUB_EGRESS_SIGNING_KEY_ID={chosen}")
        click.echo("give partners the public key and key id to check egress signatures")
        return
    click.echo(f"private key (for {partner} only, keep secret): {private}")
    click.echo("hub settings (TOML; keep the keys already listed while the partner rotates):")
    click.echo(f'  signatures.{partner} = "required"')
    click.echo(f"  signature_public_keys.{partner}.{json.dumps(chosen)} = {json.dumps(public)}")


@keys.command("egress-public-key")
@click.pass_context
def egress_public_key(ctx: click.Context) -> None:
    """Print the key id and public key that check the hub's egress signatures, for partners."""
    settings: Settings = ctx.obj
    signer = settings.egress_signer()
    if signer is None:
        raise click.ClickException("sign_egress is off: egress messages are not signed")
    if settings.uses_development_egress_key():
        click.echo("warning: no HUB_EGRESS_SIGNING_KEY set; the public development key is in use")
    click.echo(f"key id: {signer.key_id}")
    click.echo(f"public key: {public_key_text(signer.public_key)}")


def signed_ingress(message: Outbound, signing_key: str, key_id: str | None) -> Outbound:
    """``message`` signed with a partner's private key, for ``hub publish --signing-key``."""
    try:
        signer = Signer(private_key_from_text(signing_key, "--signing-key"), key_id)
    except SigningKeyError as error:
        raise click.BadParameter(str(error), param_hint="--signing-key") from None
    return replace(message, properties=signer.sign(message.properties, message.body))
