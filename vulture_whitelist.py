"""Names vulture cannot see being used: framework hooks called by name from outside our code.
Read by vulture only (``[tool.vulture]`` in pyproject.toml); never imported."""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

_.process_bind_param  # SQLAlchemy TypeDecorator (rectiflow.db.base.UTCDateTime)
_.process_result_value
_.visit_FormattedValue  # ast.NodeVisitor (rectiflow.engine.sandbox)
_.visit_JoinedStr
_._is_date_time  # jsonschema FormatChecker.checks registers it (rectiflow.forms.validate)
_._is_file_ref
_.from_dict  # SpiffWorkflow serializer converters (rectiflow.engine.serializer)
_._execute  # SpiffWorkflow task specs (rectiflow.engine.specs)
_._get_socket  # smtplib.SMTP (workers.channels.mail: connect to the resolved address)
_.redirect_request  # urllib.request handlers (workers.channels.webhook)
_.http_open
_.https_open
_.make_wsgi_app  # gunicorn's entry point in scaled mode (rectiflow_cli.runtime, README)
_.handle_starttag  # html.parser.HTMLParser (tests)
_.handle_endtag
_.handle_data
_.handle_DATA  # aiosmtpd handlers (tests' SMTP servers)
_.handle_RCPT
_.do_POST  # http.server handlers (tests' webhook receivers)
_.log_message
